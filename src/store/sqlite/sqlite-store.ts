/** The Store on a SQLite file: better-sqlite3 in WAL mode, durable commits, grouped. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as SqliteDatabaseLike } from 'kysely';
import { KyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';

const STATEMENT_CACHE_SIZE = 256;

/**
 * kysely prepares every query anew; better-sqlite3 statements can be reused, and preparing was a
 * tenth of a webhook's CPU time. The queries are parametrised, so there are few distinct ones.
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDatabaseLike {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        statement = sqlite.prepare(text);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

export class SqliteStore extends KyselyStore {
  static async open(path: string, now: () => Date = () => new Date()): Promise<SqliteStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    // FULL: each commit fsyncs the WAL, so a push answered 2xx survives a power cut (NORMAL
    // fsyncs only at checkpoints). createBuild's group commit keeps that to one fsync per batch.
    sqlite.pragma('synchronous = FULL');
    // Synchronous in better-sqlite3: it blocks the event loop. Kept short; a write still refused is
    // retried by the caller (the database counts as not answering meanwhile).
    sqlite.pragma('busy_timeout = 1000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    try {
      await KyselyStore.migrate(db, 'sqlite');
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new SqliteStore(db, now, { groupCommit: true });
  }
}
