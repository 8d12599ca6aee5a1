/** SQL connections for `sqlite:///path.db` (better-sqlite3) and `postgresql://...` (pg). */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';

export type Row = Record<string, unknown>;

/** Minimal SQL connection both drivers implement; `$1`-style placeholders. */
export interface Sql {
  dialect: 'sqlite' | 'postgresql';
  /**
   * `prepared` names a Postgres prepared statement: each connection parses and plans `sql` once
   * and then only binds `params` (SQLite ignores it). Only for statements whose result columns
   * never depend on the tables' columns (no `SELECT *`): Postgres re-plans a prepared statement
   * after a schema change but refuses one whose result type changed.
   */
  query(sql: string, params?: unknown[], prepared?: string): Promise<Row[]>;
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class SqliteSql implements Sql {
  readonly dialect = 'sqlite' as const;
  /** Serializes this connection's work: better-sqlite3 has one transaction per connection. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The view handed to a transaction's body: queries run at once, inside the transaction. */
  readonly #inside: Sql;
  /** Compiled statements by their text (`#prepared`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly #statements = new Map<string, any>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly db: any) {
    const run = (sql: string, params?: unknown[]) => Promise.resolve().then(() => this.#run(sql, params));
    const inside: Sql = {
      dialect: 'sqlite',
      query: run,
      transaction: (fn) => fn(inside),
      close: () => this.close(),
    };
    this.#inside = inside;
  }

  #run(sql: string, params: unknown[] = []): Row[] {
    const stmt = this.#prepared(sql);
    const values = params.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    if (stmt.reader) return stmt.all(...values) as Row[];
    stmt.run(...values);
    return [];
  }

  /**
   * The compiled statement of `sql` (`$n` placeholders become `?`), compiled once per connection:
   * SQLite recompiles a statement by itself when the schema changed since. Statement texts come
   * from this package (a few dozen, plus filter combinations); the cache is bounded all the same.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #prepared(sql: string): any {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql.replace(/\$\d+/g, '?'));
      if (this.#statements.size >= 256) this.#statements.clear();
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.#exclusive(async () => this.#run(sql, params));
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#inside);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    this.db.close();
  }
}

export class PgSql implements Sql {
  readonly dialect = 'postgresql' as const;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly client: any) {}

  async query(sql: string, params: unknown[] = [], prepared?: string): Promise<Row[]> {
    const result = await this.client.query(
      prepared === undefined ? sql : { name: prepared, text: sql, values: params },
      prepared === undefined ? params : undefined,
    );
    return result.rows as Row[];
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const conn = await this.client.connect();
    const tx = new PgSql(conn);
    let broken = false;
    try {
      await conn.query('BEGIN');
      const result = await fn(tx);
      await conn.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone: the transaction's own error is the one to raise
      }
      throw error;
    } finally {
      conn.release(broken); // true: the pool closes this client instead of reusing it
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

export const POSTGRES_URL = /^postgres(ql)?(\+\w+)?:\/\//;

/** The default store: `$TIMESTEP_DB`, else `sqlite:///timestep.db` (in the working directory). */
export function defaultUrl(): string {
  return process.env.TIMESTEP_DB || 'sqlite:///timestep.db';
}

/** The URL with any password hidden, for messages. */
export function displayUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?(?:\+\w+)?:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

/** True for the database URLs `openSql` accepts (`sqlite:///...`, `postgresql://...`). */
export function isSqlUrl(url: string): boolean {
  return url.startsWith('sqlite:') || POSTGRES_URL.test(url);
}

/**
 * An optional SQL driver (a peer dependency): a file-store or Postgres-only app need not install
 * (or compile) better-sqlite3. A missing one is a `ConfigurationError` saying what to install.
 */
function loadDriver(name: 'better-sqlite3' | 'pg', scheme: string): unknown {
  const require = createRequire(import.meta.url);
  try {
    return require(name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(
      `${scheme}... stores need the '${name}' package, an optional peer dependency of ` +
        `@timestep-ai/timestep: npm install ${name}`,
    );
  }
}

/** Options of a Postgres pool (ignored for SQLite). */
export interface PoolOptions {
  /** Most connections at once. */
  max?: number;
  /** Idle connections do not keep the process alive. */
  allowExitOnIdle?: boolean;
}

/** A connection for `sqlite:///path.db` (better-sqlite3) or `postgresql://...` (a pg Pool). */
export function openSql(url: string, pool: PoolOptions = {}): Sql {
  if (url.startsWith('sqlite:')) {
    const path = url.replace(/^sqlite:\/\/\/?/, '');
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    const Database = loadDriver('better-sqlite3', 'sqlite:///') as new (path: string) => {
      pragma(text: string): unknown;
    };
    const db = new Database(path === '' ? ':memory:' : path);
    db.pragma('journal_mode = WAL');
    // as Python's store: in WAL mode a commit survives a crashed process without an fsync of its
    // own (the WAL is synced at checkpoints); only a power loss may take the latest commits back
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    return new SqliteSql(db);
  }
  if (POSTGRES_URL.test(url)) {
    const pg = loadDriver('pg', 'postgresql://') as {
      Pool: new (config: { connectionString: string } & PoolOptions) => {
        on(event: 'error', listener: (error: Error) => void): void;
      };
    };
    const connectionString = url.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');
    const clients = new pg.Pool({ connectionString, ...pool });
    // An idle pooled client whose server closed it (a restart, a terminated session) errors while
    // idle; node-postgres removes it from the pool and emits the error on the pool, where an
    // unheard 'error' event would end the process. The next query checks out a new client (as
    // Python's store replaces such a connection at checkout).
    clients.on('error', () => undefined);
    return new PgSql(clients);
  }
  throw new ConfigurationError(`'${url}' is not a database URL: use sqlite:///path.db or postgresql://...`);
}
