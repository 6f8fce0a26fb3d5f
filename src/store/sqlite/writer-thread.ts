/**
 * SQLite's writer thread: `createBuild` (a push's statements, its group commit and the WAL's fsync
 * and checkpoints) runs on a connection of its own in a worker thread (writer-worker.ts), so the
 * event loop, which better-sqlite3 would otherwise block for each statement, only parses and
 * answers requests. Half of a push's CPU time on the event loop was its SQLite statements; with
 * two cores, they now run beside the HTTP work instead of before it.
 *
 * Calls made in the same turn of the event loop go over as one message (the writer makes them
 * one group commit), and each gets its own answer: rows, or the error (an AppError with its code,
 * a database error with its SQLITE_* code, so the guarded store tells "unavailable" as before).
 * Should the thread fail or exit, the calls waiting for it get an error (their outcome is unknown
 * to the caller: a redelivery finds its delivery id), and `running` turns false: the store then
 * writes on its own connection, as it does for `:memory:`.
 */
import { Worker } from 'node:worker_threads';
import type { NewBuild } from '../../domain/build.js';
import { AppError, type ErrorCode } from '../../errors.js';
import type { QueueLimits } from '../store.js';
import type { CreatedRows } from '../kysely/kysely-store.js';
import type { CheckpointResult } from './wal-checkpointer.js';

export interface WriterItem {
  id: number;
  input: NewBuild;
  limits: QueueLimits | undefined;
}

/** An error as it crosses the thread boundary. */
export interface WriterError {
  app: boolean;
  code: string | undefined;
  message: string;
  details?: unknown;
}

export type WriterReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'results'; results: ({ id: number; rows: CreatedRows } | { id: number; error: WriterError })[] }
  | { type: 'checkpointed'; id: number; result?: CheckpointResult; error?: WriterError };

export type WriterRequest =
  { type: 'builds'; items: WriterItem[] } | { type: 'checkpoint'; id: number } | { type: 'close' };

/**
 * The thread's V8 young generation: the default (16 MB semi-spaces here) is for a whole
 * service; the writer's garbage is a group's rows. A live thread costs ~20 MB of resident memory
 * with the default, ~6 MB less with this.
 */
const YOUNG_GENERATION_MB = 2;

export function toWriterError(error: unknown): WriterError {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return {
    app: error instanceof AppError,
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : String(error),
    ...(error instanceof AppError && error.details !== undefined ? { details: error.details } : {}),
  };
}

function fromWriterError(error: WriterError): Error {
  if (error.app) return new AppError(error.code as ErrorCode, error.message, error.details);
  return Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
}

/** The worker's entry: TypeScript under tsx (tests), JavaScript in dist/. */
function workerSource(): string {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(typescript ? './writer-worker.ts' : './writer-worker.js', import.meta.url).href;
  return typescript
    ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry)})`;
}

interface Waiting {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

export class WriterThread {
  private readonly waiting = new Map<number, Waiting>();
  private outbox: WriterItem[] = [];
  private nextId = 1;
  private stopped: Error | null = null;

  private constructor(private worker: Worker | null) {
    worker?.on('message', (reply: WriterReply) => this.onReply(reply));
    worker?.once('error', (error) => this.stop(error));
    worker?.once('exit', (code) => this.stop(new Error(`the database writer thread exited (${code})`)));
    worker?.unref();
  }

  /** Starts the thread on a migrated database file; null when it cannot start (the store writes itself). */
  static async start(path: string): Promise<WriterThread | null> {
    const worker = new Worker(workerSource(), {
      eval: true,
      workerData: { path },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const first = await new Promise<WriterReply | Error>((resolve) => {
      const exited = (code: number) => resolve(new Error(`exited (${code})`));
      const settle = (value: WriterReply | Error) => {
        worker.off('message', settle).off('error', settle).off('exit', exited);
        resolve(value);
      };
      worker.on('message', settle).on('error', settle).on('exit', exited);
    });
    if (first instanceof Error || first.type !== 'ready') {
      await worker.terminate();
      return null;
    }
    return new WriterThread(worker);
  }

  /** False once the thread failed or was closed: writes then go to the store's own connection. */
  get running(): boolean {
    return this.worker !== null;
  }

  createBuild(input: NewBuild, limits: QueueLimits | undefined): Promise<CreatedRows> {
    return new Promise<CreatedRows>((resolve, reject) => {
      if (!this.worker) {
        reject(this.stopped ?? new Error('the database writer thread is closed'));
        return;
      }
      const id = this.await(resolve, reject);
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ id, input, limits });
    });
  }

  /** A PASSIVE checkpoint on the thread's connection (wal-checkpointer.ts); null when it is gone. */
  checkpoint(): Promise<CheckpointResult> | null {
    const worker = this.worker;
    if (!worker) return null;
    return new Promise<CheckpointResult>((resolve, reject) => {
      worker.postMessage({ type: 'checkpoint', id: this.await(resolve, reject) } satisfies WriterRequest);
    });
  }

  private await<T>(resolve: (value: T) => void, reject: (error: Error) => void): number {
    const id = this.nextId++;
    this.waiting.set(id, { resolve: resolve as (value: never) => void, reject });
    this.worker?.ref(); // held while an answer is awaited; idle, the thread keeps no process alive
    return id;
  }

  private flush(): void {
    const items = this.outbox;
    this.outbox = [];
    if (items.length === 0) return;
    if (!this.worker) {
      for (const item of items) this.settle(item.id, null, this.stopped);
      return;
    }
    this.worker.postMessage({ type: 'builds', items } satisfies WriterRequest);
  }

  private onReply(reply: WriterReply): void {
    if (reply.type === 'checkpointed')
      this.settle(reply.id, reply.result ?? null, reply.error ? fromWriterError(reply.error) : null);
    if (reply.type !== 'results') return;
    for (const result of reply.results)
      if ('rows' in result) this.settle(result.id, result.rows, null);
      else this.settle(result.id, null, fromWriterError(result.error));
  }

  private settle(id: number, value: CreatedRows | CheckpointResult | null, error: Error | null): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    if (value) waiting.resolve(value as never);
    else waiting.reject(error ?? new Error('the database writer thread stopped'));
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private stop(error: Error): void {
    if (!this.worker) return;
    this.worker = null;
    this.stopped = error;
    for (const id of [...this.waiting.keys()]) this.settle(id, null, error);
  }

  /** Lets the writes already sent finish, then closes the thread's connection. */
  async close(): Promise<void> {
    this.flush();
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await exited;
  }
}
