/**
 * The Store on PostgreSQL (`DATABASE_URL=postgres://…`), through node-postgres' pool. The same
 * kysely queries as SQLite; a delivery id is claimed with INSERT … ON CONFLICT, so two servers
 * taking the same webhook make one build.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { KyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';

export interface PostgresOptions {
  /** A schema of its own (created when missing), e.g. for tests; default `public`. */
  schema?: string;
  now?: () => Date;
}

export class PostgresStore extends KyselyStore {
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const schema = options.schema;
    if (schema) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`not a schema name: ${schema}`);
      pool.on('connect', (client) => void client.query(`SET search_path TO ${schema}`));
    }
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    await KyselyStore.migrate(db, 'postgres', schema);
    return new PostgresStore(db, options.now ?? (() => new Date()));
  }
}
