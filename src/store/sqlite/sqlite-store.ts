/** The Store on a SQLite file: better-sqlite3 in WAL mode, durable commits, grouped. */
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as SqliteDatabaseLike } from 'kysely';
import type { NewBuild } from '../../domain/build.js';
import type { CreatedBuild, QueueLimits } from '../store.js';
import type { BetweenGroups } from '../kysely/group-commit.js';
import { createdBuild, KyselyStore } from '../kysely/kysely-store.js';
import type { DirectRead, DirectRun } from '../kysely/run-compiled.js';
import type { Database } from '../kysely/schema.js';
import {
  CHECKPOINT_EVERY_WRITES,
  checkpointOn,
  WalCheckpointer,
  type CheckpointResult,
} from './wal-checkpointer.js';
import { WriterThread } from './writer-thread.js';

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
      // Two connections write (the service's and the writer thread's): a transaction that read
      // first and wrote second would fail with SQLITE_BUSY when the other committed meanwhile;
      // IMMEDIATE takes the write lock at its start, waiting (busy_timeout) instead.
      if (text === 'begin') text = 'begin immediate';
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

interface Connection {
  sqlite: SqliteDatabase.Database;
  db: Kysely<Database>;
  direct: DirectRun;
  directRead: DirectRead;
}

function connect(path: string): Connection {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL fsyncs the WAL only at checkpoints, and FULL fsyncs it inside every commit, which
  // better-sqlite3 runs on the calling thread: a 5–12 ms stall per commit here. createBuild
  // instead fsyncs the WAL itself, off that thread, once per group commit, before any push of the
  // group is answered (syncWal). Other writes (state changes) reach the disk with the next push's
  // fsync or checkpoint; one lost to a power cut leaves a build running, which recovery marks
  // interrupted and queues again.
  sqlite.pragma('synchronous = NORMAL');
  // Synchronous in better-sqlite3: it blocks the calling thread. Kept short; a write still
  // refused is retried by the caller (the database counts as not answering meanwhile).
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
  return { sqlite, db, direct, directRead };
}

export class SqliteStore extends KyselyStore {
  private constructor(
    private readonly connection: Connection,
    now: () => Date,
    private readonly wal: WalSync | null,
    /** Checkpoints off the event loop (wal-checkpointer.ts); none for `:memory:`. */
    readonly checkpointer: WalCheckpointer | null,
    between: BetweenGroups | undefined,
    /** Where createBuild runs (writer-thread.ts); none for `:memory:`, a given clock, or the writer itself. */
    private readonly writer: WriterThread | null,
  ) {
    super(connection.db, now, {
      direct: connection.direct,
      directRead: connection.directRead,
      groupCommit: wal?.sync ?? (async () => undefined),
      ...(between ? { betweenCommits: between } : {}),
    });
  }

  /** On the writer thread while it runs; on this connection otherwise (the same statements). */
  override async createBuild(input: NewBuild, limits?: QueueLimits): Promise<CreatedBuild> {
    if (this.writer?.running) return createdBuild(input, await this.writer.createBuild(input, limits));
    return super.createBuild(input, limits);
  }

  /** A PASSIVE checkpoint on this store's connection (the writer thread's, for the service). */
  checkpointHere(): CheckpointResult {
    return checkpointOn(this.connection.sqlite);
  }

  override async close(): Promise<void> {
    // The checkpoints and the writer's writes first; the service's own connection, closing last,
    // checkpoints and removes the WAL.
    await this.checkpointer?.close();
    await this.writer?.close();
    await super.close();
    await this.wal?.close();
  }

  static async open(path: string, now?: () => Date): Promise<SqliteStore> {
    const connection = connect(path);
    try {
      await KyselyStore.migrate(connection.db, 'sqlite');
    } catch (error) {
      await connection.db.destroy();
      throw error;
    }
    const clock = now ?? (() => new Date());
    if (path === ':memory:') return new SqliteStore(connection, clock, null, null, undefined, null);
    // A given clock is this connection's: the writer thread would stamp builds with its own.
    const writer = now ? null : await WriterThread.start(path);
    const checkpointer = new WalCheckpointer(connection.sqlite, () => writer?.checkpoint() ?? null);
    return new SqliteStore(
      connection,
      clock,
      new WalSync(path),
      checkpointer,
      checkpointer.betweenCommits,
      writer,
    );
  }

  /**
   * The writer thread's store (writer-worker.ts), on a database `open` migrated: its group commits
   * fsync the WAL, and checkpoint it between groups on its own connection (it blocks only that
   * thread), as wal-checkpointer.ts does for the service's connection.
   */
  static async openWriter(path: string): Promise<SqliteStore> {
    const connection = connect(path);
    connection.sqlite.pragma('wal_autocheckpoint = 0');
    let written = 0;
    const between: BetweenGroups = {
      due: (pushes) => (written += pushes) >= CHECKPOINT_EVERY_WRITES,
      run: async () => {
        written = 0;
        try {
          checkpointOn(connection.sqlite);
        } catch {
          // Tried again after the next groups; the service's checkpointer runs too.
        }
      },
    };
    return new SqliteStore(connection, () => new Date(), new WalSync(path), null, between, null);
  }
}
