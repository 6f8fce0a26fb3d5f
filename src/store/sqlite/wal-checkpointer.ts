/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses 1000 WAL pages: on the event loop (better-sqlite3 is synchronous), copying the pages
 * and fsyncing the WAL and the database, 5–12 ms each here, during which no request is read. The
 * service turns it off (`wal_autocheckpoint = 0`) and checkpoints from a connection of its own in
 * a worker thread instead:
 * - between two group commits once enough pushes were written since the last checkpoint; the
 *   next batch waits for it (the event loop does not), so no writer of ours runs meanwhile and the
 *   checkpoint reaches the WAL's end, and the next commit starts the WAL over: it stays bounded;
 * - every few seconds too, for the writes that are not pushes (state changes, leases).
 * PASSIVE: it never waits for, nor blocks, a writer or reader. Should the worker fail, the
 * checkpoint runs on the event loop as before rather than the WAL growing.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** Pushes written between two checkpoints: ~8 WAL pages each, ~1000 pages (SQLite's own default), ~4 MB. */
export const CHECKPOINT_EVERY_WRITES = 128;
/** For the writes that are not pushes. */
const CHECKPOINT_INTERVAL_MS = 5000;

/** CommonJS in an eval'd worker: better-sqlite3 is a CommonJS native module, loaded by path. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
});
`;

export interface CheckpointResult {
  /** WAL frames when it ran, and how many of them are in the database now. */
  log: number;
  checkpointed: number;
}

export class WalCheckpointer {
  private worker: Worker | null;
  private running: Promise<CheckpointResult> | null = null;
  private written = 0;
  private readonly timer: NodeJS.Timeout;
  /** Checkpoints run, for tests and the benchmark notes. */
  count = 0;

  constructor(
    path: string,
    /** The service's own connection: the fallback when the worker is gone. */
    private readonly main: SqliteDatabase.Database,
  ) {
    main.pragma('wal_autocheckpoint = 0');
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, path } });
    this.worker.unref();
    this.worker.once('error', () => (this.worker = null));
    this.worker.once('exit', () => (this.worker = null));
    this.timer = setInterval(() => void this.checkpoint().catch(() => undefined), CHECKPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Between two group commits (`pushes` written by the last one): checkpoints when enough were
   * written since the last time, and resolves when it is done. Never rejects: a failed checkpoint
   * is tried again after the next group.
   */
  readonly betweenCommits = async (pushes: number): Promise<void> => {
    this.written += pushes;
    if (this.written < CHECKPOINT_EVERY_WRITES) return;
    await this.checkpoint().catch(() => undefined);
  };

  /** One PASSIVE checkpoint (joins one already running). */
  checkpoint(): Promise<CheckpointResult> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<CheckpointResult> {
    this.written = 0;
    this.count += 1;
    const worker = this.worker;
    if (!worker) return this.onMain();
    return new Promise<CheckpointResult>((resolve, reject) => {
      const settle = (message: { ok: boolean; message?: string } & CheckpointResult) => {
        worker.off('exit', gone);
        worker.unref();
        if (message.ok) resolve({ log: message.log, checkpointed: message.checkpointed });
        else reject(new Error(`WAL checkpoint: ${message.message}`));
      };
      const gone = () => {
        worker.off('message', settle);
        resolve(this.onMain());
      };
      worker.once('message', settle);
      worker.once('exit', gone);
      // Held while a checkpoint is awaited; idle, the worker keeps no process alive.
      worker.ref();
      worker.postMessage('checkpoint');
    });
  }

  private onMain(): CheckpointResult {
    const [result] = this.main.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    return { log: result!.log, checkpointed: result!.checkpointed };
  }

  /** Stops the worker and closes its connection; before the service's own connection closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref();
    worker.postMessage('close');
    await exited;
  }
}
