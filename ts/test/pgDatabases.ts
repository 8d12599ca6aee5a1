/** Fresh databases on the Postgres server a test names (TIMESTEP_TEST_POSTGRES_URL), dropped after. */
import { createRequire } from 'node:module';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** `fresh()` creates an empty database and returns its URL; `dropAll()` drops every one created. */
export function postgresDatabases(serverUrl: string, prefix: string) {
  const require = createRequire(import.meta.url);
  const pg = require('pg') as { Client: new (o: { connectionString: string }) => PgClient };
  const admin = serverUrl.replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');
  const created: string[] = [];
  const onServer = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    async fresh(): Promise<string> {
      const name = `${prefix}_${process.pid}_${created.length}`;
      await onServer(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(admin);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropAll(): Promise<void> {
      for (const name of created.splice(0)) await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
