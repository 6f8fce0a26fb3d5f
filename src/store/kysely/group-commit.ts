/**
 * Group commit: concurrent writes share one transaction and one fsync, which acknowledges them
 * all. A webhook is answered only after its write is on disk; fsyncing once per request would cap
 * the service at the disk's fsync rate (5–12 ms here), fsyncing once per batch does not.
 *
 * The first write opens a batch and lets the current turn of the event loop finish (requests
 * parsed in the same turn join it); the batch then runs its writes one after another, each in a
 * savepoint, taking every write that arrives meanwhile, and commits when none is left. Then `sync`
 * (SQLite: fdatasync of the WAL) runs off the event loop: requests keep arriving meanwhile and
 * form the next batch, which starts once this one is on disk and answered. A write
 * failing with an AppError (QUEUE_FULL) is rolled back to its savepoint and fails alone; any other
 * error (the database's) rolls the whole batch back and reaches every caller in it: none of them
 * was stored.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { AppError } from '../../errors.js';
import { rowsOf, runDirectly, type DirectRun } from './run-compiled.js';

interface Pending<DB> {
  work: (trx: Transaction<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a database adds to its group commits (SQLite: sqlite-store.ts). */
export interface GroupHooks {
  /** Makes a commit durable; resolves when it is on disk. */
  sync?: () => Promise<void>;
  /**
   * Runs after a group is answered and before the next one starts, told how many writes the
   * group stored (SQLite: the WAL checkpoint, wal-checkpointer.ts). Must not reject.
   */
  between?: (written: number) => Promise<void>;
  /** Where the group's statements may run on its connection directly (run-compiled.ts). */
  direct?: DirectRun;
  /**
   * Told `true` once a group's transaction has begun (its connection is the group's alone),
   * and `false` before it commits or rolls back and again after (SQLite: the group's
   * statement journals in memory, sqlite-store.ts). Must not throw.
   */
  inGroup?: (inGroup: boolean) => void;
}

/** The savepoint statements, compiled once: they run around every write. */
const SAVEPOINT = CompiledQuery.raw('SAVEPOINT group_item');
const RELEASE = CompiledQuery.raw('RELEASE SAVEPOINT group_item');
const ROLLBACK_TO = CompiledQuery.raw('ROLLBACK TO SAVEPOINT group_item');

/** Bounds a batch (and so the time the event loop waits for its commit). */
const MAX_BATCH = 256;

export class GroupCommit<DB> {
  private queue: Pending<DB>[] = [];
  private writing = false;

  private readonly sync: () => Promise<void>;
  private readonly between: (written: number) => Promise<void>;
  private readonly direct: DirectRun | undefined;
  private readonly inGroup: (inGroup: boolean) => void;

  constructor(
    private readonly db: Kysely<DB>,
    hooks: GroupHooks = {},
  ) {
    this.sync = hooks.sync ?? (async () => undefined);
    this.between = hooks.between ?? (async () => undefined);
    this.direct = hooks.direct;
    this.inGroup = hooks.inGroup ?? (() => undefined);
  }

  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    // write() settles every caller itself and does not throw.
    setImmediate(() => {
      this.write().catch(() => undefined);
    });
  }

  private async write(): Promise<void> {
    // Everything waiting now is this batch; writes arriving while it runs join it too.
    const batch = this.queue.splice(0, MAX_BATCH);
    const outcomes: Outcome[] = [];
    try {
      const trx = await this.db.startTransaction().execute();
      if (this.direct) runDirectly(trx, this.direct);
      // The transaction holds the connection: nothing else runs on it until the commit.
      this.inGroup(true);
      try {
        while (outcomes.length < batch.length) {
          outcomes.push(await this.one(trx, batch[outcomes.length]!));
          if (outcomes.length === batch.length) batch.push(...this.queue.splice(0, MAX_BATCH - batch.length));
        }
        this.inGroup(false);
        await trx.commit().execute();
      } catch (error) {
        this.inGroup(false);
        await trx
          .rollback()
          .execute()
          .catch(() => undefined); // SQLite may have rolled back already (disk full, I/O error)
        throw error;
      } finally {
        this.inGroup(false); // again once the transaction has ended (sqlite-store.ts repairs there)
      }
      // Committed but not known to be on disk when this fails: the callers get the error (5xx),
      // and a redelivery finds its delivery id and answers the build, as for any retry.
      await this.sync();
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
      // The callers have their answers; writes arriving meanwhile form the next group.
      await this.between(outcomes.filter((outcome) => outcome.ok).length);
    } catch (error) {
      // Nothing of the batch was stored (or, the fsync failing, it is not known to be on disk):
      // every caller in it gets the error.
      for (const item of batch) item.reject(error);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  /** One write in a savepoint: its own refusal undoes only its own changes. */
  private async one(trx: Transaction<DB>, item: Pending<DB>): Promise<Outcome> {
    await rowsOf(trx, SAVEPOINT);
    try {
      const value = await item.work(trx);
      await rowsOf(trx, RELEASE);
      return { ok: true, value };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await rowsOf(trx, ROLLBACK_TO);
      await rowsOf(trx, RELEASE);
      return { ok: false, error };
    }
  }
}
