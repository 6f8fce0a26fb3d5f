/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses 1000 WAL pages: on the event loop (better-sqlite3 is synchronous), copying the pages
 * and fsyncing the WAL and the database, 5–12 ms each here, during which no request is read. The
 * service turns it off (`wal_autocheckpoint = 0`) and checkpoints on the writer thread's connection
 * instead (writer-thread.ts), which also checkpoints between its own group commits:
 * - every few seconds, for the writes the service's connection makes (state changes, leases);
 * - between two group commits on the service's connection, once enough pushes were written since
 *   the last checkpoint (when the writer thread is gone and the service writes pushes itself); the
 *   next batch waits for it, so no writer of ours runs meanwhile and the checkpoint reaches the
 *   WAL's end, and the next commit starts the WAL over: it stays bounded.
 * PASSIVE: it never waits for, nor blocks, a writer or reader. With no writer thread, the
 * checkpoint runs on the event loop as before rather than the WAL growing.
 */
import type SqliteDatabase from 'better-sqlite3';
import type { BetweenGroups } from '../kysely/group-commit.js';

/** Pushes written between two checkpoints: ~8 WAL pages each, ~1000 pages (SQLite's own default), ~4 MB. */
export const CHECKPOINT_EVERY_WRITES = 128;
/** For the writes that are not pushes. */
const CHECKPOINT_INTERVAL_MS = 5000;

export interface CheckpointResult {
  /** WAL frames when it ran, and how many of them are in the database now. */
  log: number;
  checkpointed: number;
}

/** One PASSIVE checkpoint on a connection. */
export function checkpointOn(db: SqliteDatabase.Database): CheckpointResult {
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
  return { log: result!.log, checkpointed: result!.checkpointed };
}

export class WalCheckpointer {
  private running: Promise<CheckpointResult> | null = null;
  private written = 0;
  private readonly timer: NodeJS.Timeout;
  /** Checkpoints run, for tests and the benchmark notes. */
  count = 0;

  constructor(
    /** The service's own connection: where the checkpoint runs when no thread can. */
    private readonly main: SqliteDatabase.Database,
    /** A checkpoint off the event loop (the writer thread's), or null when there is none now. */
    private readonly offLoop: () => Promise<CheckpointResult> | null = () => null,
  ) {
    main.pragma('wal_autocheckpoint = 0');
    this.timer = setInterval(() => void this.checkpoint().catch(() => undefined), CHECKPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Between two group commits (group-commit.ts): told how many pushes each group wrote, it is due
   * once enough were written since the last checkpoint; the checkpoint then runs after that group
   * is answered, and the next group waits for it. Never rejects: a failed checkpoint is tried
   * again after the next group.
   */
  readonly betweenCommits: BetweenGroups = {
    due: (pushes) => (this.written += pushes) >= CHECKPOINT_EVERY_WRITES,
    run: async () => {
      await this.checkpoint().catch(() => undefined);
    },
  };

  /** One PASSIVE checkpoint (joins one already running). */
  checkpoint(): Promise<CheckpointResult> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<CheckpointResult> {
    this.written = 0;
    this.count += 1;
    return (await this.offLoop()) ?? checkpointOn(this.main);
  }

  /** Stops the timer; before the service's own connection closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
