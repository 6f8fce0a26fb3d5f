/** The Store on a SQLite file: better-sqlite3 in WAL mode, durable commits, grouped. */
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type SqliteDatabase as SqliteDatabaseLike } from 'kysely';
import { KyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import type { DirectRead, DirectRun } from '../kysely/run-compiled.js';

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

/**
 * A group commit's statement journals (what its savepoint per push, or a multi-row UPDATE, would
 * undo) in memory, for its transaction only. SQLite keeps them in memory up to 64 KiB and then in
 * a temporary file: every page a push touched was written to it once more, ~23 pwrite calls a
 * push in the webhook benchmark (more than its WAL frames), and a file was created and unlinked
 * per group. A group's journal holds one push's pages at a time (an in-memory one is emptied when
 * the push's savepoint is released): a few dozen KB, 13 MB for a push superseding 33 000 queued
 * builds under a lowered queue limit. Outside groups the default stays: a migration rewriting a
 * table (0011's column drop) journals in proportion to it, and the sorts of unpaged lists
 * (listActive, listWithFiles) grow with the database; both belong on disk. SQLite picks
 * memory or file when a write transaction begins, so switched on after the group's `BEGIN` (before
 * its first write) and off before its `COMMIT`.
 */
function statementJournalsInMemory(sqlite: SqliteDatabase.Database): (on: boolean) => void {
  let refused = false;
  return (on) => {
    try {
      sqlite.exec(`PRAGMA temp_store = ${on ? 'MEMORY' : 'DEFAULT'}`);
      // Told `false` once more after the transaction: close what made the switch refused.
      if (!on && refused && !sqlite.inTransaction) {
        closeTempDatabase(sqlite);
        refused = false;
      }
    } catch {
      // Refused inside a transaction while SQLite's TEMP database is open: this group's journals
      // go to a file, as before the switch, slower but the same; repaired after its transaction.
      if (on) refused = true;
    }
  };
}

/**
 * Closes SQLite's TEMP database, outside a transaction: statements that rename or drop a column
 * (migrations), an integrity check, or a TEMP object open it, and while it is open temp_store
 * cannot change inside a transaction. A change of temp_store outside one closes it (the cached
 * statements are prepared again).
 */
function closeTempDatabase(sqlite: SqliteDatabase.Database): void {
  sqlite.pragma('temp_store = MEMORY');
  sqlite.pragma('temp_store = DEFAULT');
}

/**
 * fdatasync of the WAL through a descriptor of our own (Linux syncs a file's pages whichever
 * descriptor wrote them), on libuv's thread pool. The WAL holds every committed frame until a
 * checkpoint, which under NORMAL syncs the WAL first and the database after; it is removed only
 * when the last connection closes, so the descriptor opened at the first sync stays valid.
 */
class WalSync {
  private handle: Promise<FileHandle> | null = null;

  constructor(private readonly path: string) {}

  readonly sync = async (): Promise<void> => {
    this.handle ??= open(`${this.path}-wal`, 'r');
    const handle = await this.handle.catch((error: unknown) => {
      this.handle = null;
      throw error;
    });
    await handle.datasync();
  };

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await (await handle?.catch(() => null))?.close();
  }
}

export class SqliteStore extends KyselyStore {
  private constructor(
    db: Kysely<Database>,
    now: () => Date,
    private readonly wal: WalSync | null,
    /** Checkpoints off the event loop (wal-checkpointer.ts); none for `:memory:`. */
    readonly checkpointer: WalCheckpointer | null,
    direct: DirectRun,
    directRead: DirectRead,
    inGroup: (inGroup: boolean) => void,
  ) {
    super(db, now, {
      group: {
        direct,
        inGroup,
        ...(wal ? { sync: wal.sync } : {}),
        ...(checkpointer ? { between: checkpointer.betweenCommits } : {}),
      },
      directRead,
    });
  }

  override async close(): Promise<void> {
    // Its connection first: the service's own, closing last, checkpoints and removes the WAL.
    await this.checkpointer?.close();
    await super.close();
    await this.wal?.close();
  }

  /**
   * kysely runs SQLite's migrations outside any transaction (its SQLite adapter declares no
   * transactional DDL), so a migration of several statements stopped half-way (a kill, a full
   * disk) would leave a database that no start could migrate again. SQLite's DDL is transactional:
   * the pending migrations and their records are applied in one transaction, or not at all.
   */
  private static async migrateAtomically(db: Kysely<Database>): Promise<void> {
    await sql`BEGIN IMMEDIATE`.execute(db);
    try {
      await KyselyStore.migrate(db, 'sqlite');
      await sql`COMMIT`.execute(db);
    } catch (error) {
      await sql`ROLLBACK`.execute(db).catch(() => undefined);
      throw error;
    }
  }

  static async open(path: string, now: () => Date = () => new Date()): Promise<SqliteStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL fsyncs the WAL only at checkpoints, and FULL fsyncs it inside every commit, which
    // better-sqlite3 runs on the event loop: a 5–12 ms stall per commit here, during which no request
    // is even read. createBuild instead fsyncs the WAL itself, off the event loop, once per group
    // commit, before any push of the group is answered (syncWal). Other writes (state changes)
    // reach the disk with the next push's fsync or checkpoint; one lost to a power cut leaves a
    // build running, which recovery marks interrupted and queues again.
    sqlite.pragma('synchronous = NORMAL');
    // Synchronous in better-sqlite3: it blocks the event loop. Kept short; a write still refused is
    // retried by the caller (the database counts as not answering meanwhile).
    sqlite.pragma('busy_timeout = 1000');
    const statements = withStatementCache(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
    // As kysely's SQLite driver runs a statement, without its executor around it.
    const direct: DirectRun = ({ sql, parameters }) => {
      const statement = statements.prepare(sql) as SqliteDatabase.Statement;
      if (statement.reader) return statement.all(parameters) as unknown[];
      statement.run(parameters);
      return [];
    };
    // Outside a transaction only: inside one (a group commit's, across its awaits) a read would
    // see what is not committed yet.
    const directRead: DirectRead = (query) => (sqlite.inTransaction ? null : direct(query));
    try {
      await SqliteStore.migrateAtomically(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    closeTempDatabase(sqlite); // the migrations' column drops opened it
    const inGroup = statementJournalsInMemory(sqlite);
    if (path === ':memory:') return new SqliteStore(db, now, null, null, direct, directRead, inGroup);
    return new SqliteStore(
      db,
      now,
      new WalSync(path),
      new WalCheckpointer(path, sqlite),
      direct,
      directRead,
      inGroup,
    );
  }
}
