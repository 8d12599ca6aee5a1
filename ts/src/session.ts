/**
 * TimestepSession: the JS SDK's `Session` (conversation history) over the tables Python's
 * `timestep.open_session` uses (`timestep_sessions`, `timestep_session_items`, the layout of the
 * Python SDK's `SQLAlchemySession`), in SQLite or Postgres.
 *
 * Rows always hold items in ONE format, Python's (the Python SDK reads `message_data` as it is):
 * items are translated to Python's format on write and to the JS SDK's on read, so a conversation
 * started in one language continues in the other.
 */
import { resolve } from 'node:path';
import type { AgentInputItem, Session } from '@openai/agents';
import { ConfigurationError } from './errors.js';
import { ensureSchema, isSqlUrl, openSql, type Sql } from './store/index.js';
import { itemsToPython, itemsToTypeScript, type Json } from './translate/index.js';

/** The id the translation gives an assistant message that had none (Python's format needs one). */
const PLACEHOLDER_MESSAGE_ID = 'msg_translated';

/** Python rows in the JS format, without the placeholder ids the JS writer never had. */
function toTypeScriptItems(items: Json[]): AgentInputItem[] {
  return itemsToTypeScript(items).map((item) => {
    if (item.id === PLACEHOLDER_MESSAGE_ID) {
      const { id: _id, ...rest } = item;
      return rest;
    }
    return item;
  }) as unknown as AgentInputItem[];
}

/** JSON with sorted object keys: two items compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** `url` without a Postgres password. */
export function publicDbUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?(?:\+\w+)?:\/\/[^:/@]*):[^@/]*@/, '$1@');
}

/**
 * Where a session's rows live, as a durable run persists it so another process can reopen the
 * session: the database URL without password, a SQLite path made absolute; `null` for a session
 * that cannot be reopened elsewhere (not a TimestepSession, or an in-memory SQLite database).
 */
export function sessionDb(session: Session): string | null {
  if (!(session instanceof TimestepSession)) return null;
  const url = session.url;
  if (!url.startsWith('sqlite:')) return publicDbUrl(url);
  const path = url.replace(/^sqlite:\/\/\/?/, '');
  if (path === '' || path === ':memory:') return null;
  return `sqlite:///${resolve(path)}`;
}

const SESSIONS = 'timestep_sessions';
const ITEMS = 'timestep_session_items';

export interface TimestepSessionOptions {
  /** `sqlite:///path.db` or `postgresql://...`; default `$TIMESTEP_DB`, else `sqlite:///timestep.db`. */
  db?: string;
}

/** A conversation history shared with timestep's Python package. */
export class TimestepSession implements Session {
  readonly sessionId: string;
  readonly url: string;
  readonly #sql: Sql;
  #ready: Promise<void> | undefined;

  constructor(sessionId: string, options: TimestepSessionOptions = {}) {
    const url = options.db ?? process.env.TIMESTEP_DB ?? 'sqlite:///timestep.db';
    if (!isSqlUrl(url)) {
      throw new ConfigurationError(
        `sessions live in a database; '${url}' is not one: use sqlite:///path.db or postgresql://...`,
      );
    }
    this.sessionId = sessionId;
    this.url = url;
    this.#sql = openSql(url);
  }

  #schema(): Promise<void> {
    this.#ready ??= ensureSchema(this.#sql);
    return this.#ready;
  }

  /** The rows' items in Python's format, oldest first (unreadable rows skipped, as Python does). */
  async #rows(sql: Sql): Promise<{ id: number; item: Json }[]> {
    const rows = await sql.query(
      `SELECT id, message_data FROM ${ITEMS} WHERE session_id = $1 ORDER BY created_at ASC, id ASC`,
      [this.sessionId],
    );
    const out: { id: number; item: Json }[] = [];
    for (const row of rows) {
      try {
        out.push({ id: Number(row.id), item: JSON.parse(String(row.message_data)) as Json });
      } catch {
        // a corrupt row: skipped like the Python SDK does
      }
    }
    return out;
  }

  /** Postgres: lock the session's row so writers of one session go one at a time (as Python). */
  async #lock(tx: Sql): Promise<boolean> {
    const lock = tx.dialect === 'postgresql' ? ' FOR UPDATE' : '';
    const rows = await tx.query(`SELECT session_id FROM ${SESSIONS} WHERE session_id = $1${lock}`, [
      this.sessionId,
    ]);
    return rows.length > 0;
  }

  async getSessionId(): Promise<string> {
    return this.sessionId;
  }

  /** The history in the JS SDK's format (the latest `limit` items when given). */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    await this.#schema();
    // Translate the whole history: a tool result takes its tool's name from its call.
    const items = toTypeScriptItems((await this.#rows(this.#sql)).map((r) => r.item));
    if (limit === undefined || limit === null) return items;
    if (limit <= 0) return [];
    return items.slice(-limit);
  }

  /** Append items (stored in Python's format). */
  async addItems(items: AgentInputItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.#schema();
    const rows = itemsToPython(items as unknown[]).map((item) => JSON.stringify(item));
    await this.#sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${SESSIONS} (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`,
        [this.sessionId],
      );
      await this.#lock(tx);
      for (const data of rows) {
        await tx.query(`INSERT INTO ${ITEMS} (session_id, message_data) VALUES ($1, $2)`, [
          this.sessionId,
          data,
        ]);
      }
      await tx.query(`UPDATE ${SESSIONS} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = $1`, [
        this.sessionId,
      ]);
    });
  }

  /**
   * Append `items` unless the history already ends with exactly them, in one transaction; returns
   * how many were added. A durable run writes its new items with this in a step: a write repeated
   * because the process died after the commit and before the step's checkpoint adds nothing.
   */
  async addItemsOnce(items: AgentInputItem[]): Promise<number> {
    if (items.length === 0) return 0;
    await this.#schema();
    const rows = itemsToPython(items as unknown[]);
    return this.#sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${SESSIONS} (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`,
        [this.sessionId],
      );
      await this.#lock(tx);
      const tail = await tx.query(
        `SELECT message_data FROM ${ITEMS} WHERE session_id = $1 ` +
          `ORDER BY created_at DESC, id DESC LIMIT ${rows.length}`,
        [this.sessionId],
      );
      const written = tail.reverse().map((row) => {
        try {
          return JSON.parse(String(row.message_data)) as unknown;
        } catch {
          return null;
        }
      });
      if (canonical(written) === canonical(rows)) return 0;
      for (const item of rows) {
        await tx.query(`INSERT INTO ${ITEMS} (session_id, message_data) VALUES ($1, $2)`, [
          this.sessionId,
          JSON.stringify(item),
        ]);
      }
      await tx.query(`UPDATE ${SESSIONS} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = $1`, [
        this.sessionId,
      ]);
      return rows.length;
    });
  }

  /** Remove and return the latest item. */
  async popItem(): Promise<AgentInputItem | undefined> {
    await this.#schema();
    return this.#sql.transaction(async (tx) => {
      if (!(await this.#lock(tx))) return undefined;
      const rows = await this.#rows(tx);
      const last = rows[rows.length - 1];
      if (!last) return undefined;
      const items = toTypeScriptItems(rows.map((r) => r.item));
      await tx.query(`DELETE FROM ${ITEMS} WHERE id = $1`, [last.id]);
      return items[items.length - 1];
    });
  }

  /** Delete the whole history (and the session's row). */
  async clearSession(): Promise<void> {
    await this.#schema();
    await this.#sql.transaction(async (tx) => {
      if (!(await this.#lock(tx))) return;
      await tx.query(`DELETE FROM ${ITEMS} WHERE session_id = $1`, [this.sessionId]);
      await tx.query(`DELETE FROM ${SESSIONS} WHERE session_id = $1`, [this.sessionId]);
    });
  }

  /** Close the database connection. */
  async close(): Promise<void> {
    await this.#sql.close();
  }
}

/** The session `sessionId` in `db` (default: the default store), like Python's `open_session`. */
export function openSession(sessionId: string, db?: string): TimestepSession {
  return new TimestepSession(sessionId, db === undefined ? {} : { db });
}
