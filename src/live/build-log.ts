/**
 * One build's log file. Complete lines are collected and written in batches: when 64 KB are
 * pending, else at most 100 ms after the first pending byte, and at once on `flush()` (the
 * pipeline and the scheduler call it before a state change) and `close()` (before the final
 * state). A kill -9 loses at most the last ≈100 ms of output. Each batch is published on the bus
 * with its byte offset right after it is written, so a reader that follows the file and the bus
 * sees it on disk first.
 * Pacing: at most one timed write per 100 ms for step output, and one per 100 ms for our own lines
 * (step markers, image pull progress, a boot console), each on its own clock; a batch goes out
 * when the earlier of the two allows. So the first line after a quiet spell of output goes out on
 * the next turn of the event loop, even right after a marker line of ours (`==> step 1/1: …`)
 * that opened its own window, while bulk output and chatty lines of ours stay batched. A flush,
 * a state change, ends both windows.
 * stdout and stderr are buffered separately up to a newline so their lines never interleave
 * mid-line; complete lines go into the batch in the order they arrive. When each line arrived is
 * kept beside the log (log-times.ts), written with the same batch.
 *
 * The log is bounded (`maxBytes`) and never throws: it is written from the executor's stream
 * callbacks, where an exception would take the whole service down. When the cap is reached, or a
 * write fails (ENOSPC, EIO), it stops writing, remembers why in `failure` and calls `onFailure`
 * once; the scheduler then fails that build, and only that build.
 */
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_LOG_MAX_BYTES, formatBytes } from '../domain/limits.js';
import type { EventBus } from './event-bus.js';
import { maskSecrets } from '../domain/mask-secrets.js';
import { timesPath } from '../domain/log-files.js';
import { LogTimesWriter } from './log-times.js';

/** A line longer than this is written in pieces rather than held in memory. */
const MAX_PENDING = 64 * 1024;
/** A batch is written once it holds this much... */
const BATCH_BYTES = 64 * 1024;
/** ...or this long after its first byte came. */
const BATCH_MS = 100;

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++;
  return count;
}

export interface BuildLogOptions {
  /** Bytes of output the log may hold; the marker line that ends a full log comes on top. */
  maxBytes?: number;
  /** Called once, with the reason the build fails, when the log stops accepting output. */
  onFailure?: (reason: string) => void;
  /** Secret values written as `***` in the file and the live stream alike (config/secrets.ts). */
  masks?: readonly string[];
}

function describeError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code && !message.startsWith(code) ? `${code} ${message}` : message;
}

export class BuildLog {
  private fd: number | null = null;
  /** Bytes in the file. */
  private offset = 0;
  /** Bytes in the file and in the batch: what the cap counts. */
  private accepted = 0;
  /** Complete lines accepted so far: the next output starts line `lines + 1`. */
  private lines = 0;
  /** Owned, not the caller's chunks: an executor may reuse its buffers once the callback returns. */
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private batchBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When step output, and lines of our own, were last written by a timed or full batch (epoch ms). */
  private lastOutputWrite = 0;
  private lastOwnWrite = 0;
  /** What the batch holds: step output, lines of our own. */
  private batchHasOutput = false;
  private batchHasOwn = false;
  /** When the armed timer fires (epoch ms). */
  private due = 0;
  private times: LogTimesWriter | null = null;
  /** Partial lines per stream, waiting for their newline. */
  private readonly pending = new Map<string, Buffer>();
  private closed = false;
  private readonly maxBytes: number;
  /** Why the log stopped accepting output; null while it works. */
  failure: string | null = null;

  constructor(
    readonly path: string,
    private readonly buildId: number,
    private readonly bus: EventBus,
    private readonly options: BuildLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    try {
      mkdirSync(dirname(path), { recursive: true });
      // A new file for each build: ids restart with a new database while logs_directory may
      // still hold an old build's file under the same name; appending would mix the two.
      this.fd = openSync(path, 'w');
      // No times beside a log that is not a plain file (a device in the tests: /dev/full).
      if (fstatSync(this.fd).isFile()) this.times = new LogTimesWriter(timesPath(path));
    } catch (error) {
      this.fail(`log write failed: ${describeError(error)}`);
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    this.pending.clear();
    this.dropBatch();
    this.options.onFailure?.(reason);
  }

  private dropBatch(): void {
    this.batchBytes = 0;
    this.batchHasOutput = false;
    this.batchHasOwn = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Adds accepted bytes to the batch; writes it when full, or arms the timer that will.
   * `output`: step output; false for lines of our own (each kind is paced on its own clock).
   */
  private append(bytes: Buffer, output: boolean): void {
    if (this.failure) return;
    const now = Date.now();
    this.times?.note(this.lines + 1, now);
    this.lines += countNewlines(bytes);
    this.accepted += bytes.length;
    if (this.batchBytes + bytes.length > BATCH_BYTES && !this.writeBatch()) return;
    if (bytes.length >= BATCH_BYTES) {
      // Too big to hold: straight to disk, after the batch that came before it.
      if (this.write(bytes)) this.paced(output, !output);
      return;
    }
    bytes.copy(this.batch, this.batchBytes);
    this.batchBytes += bytes.length;
    if (output) this.batchHasOutput = true;
    else this.batchHasOwn = true;
    if (this.batchBytes >= BATCH_BYTES) this.writeBatch();
    else this.arm(output, now);
  }

  /**
   * Arms the batch timer for the earliest moment the pending bytes' clock allows: at once after a
   * quiet spell, else BATCH_MS after that clock's last write. Re-armed earlier when output comes
   * while only lines of ours (on a later window) are waiting, so they never hold it back.
   */
  private arm(output: boolean, now: number): void {
    const at = Math.max(now, (output ? this.lastOutputWrite : this.lastOwnWrite) + BATCH_MS);
    if (this.timer) {
      if (at >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = at;
    this.timer = setTimeout(() => this.writeBatch(true), at - now).unref();
  }

  /** A timed or full batch was written: it opens the window of each kind of line it held. */
  private paced(output: boolean, own: boolean): void {
    const now = Date.now();
    if (output) this.lastOutputWrite = now;
    if (own) this.lastOwnWrite = now;
  }

  /**
   * Writes the batch now; false when the log failed. `paced`: a timed or full batch, which opens
   * the next window of what it held; a flush (a state change) ends both windows instead.
   */
  private writeBatch(paced = true): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const output = this.batchHasOutput;
    const own = this.batchHasOwn;
    this.batchHasOutput = false;
    this.batchHasOwn = false;
    if (!paced) {
      this.lastOutputWrite = 0;
      this.lastOwnWrite = 0;
    }
    if (this.batchBytes === 0) return this.failure === null;
    const bytes = this.batch.subarray(0, this.batchBytes);
    this.batchBytes = 0;
    if (!this.write(bytes)) return false;
    if (paced) this.paced(output, own);
    return true;
  }

  /** Writes all of `bytes` or fails the log; false when nothing more may be written. */
  private write(bytes: Buffer): boolean {
    if (this.fd === null) return false;
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done);
    } catch (error) {
      this.fail(`log write failed: ${describeError(error)}`);
      return false;
    }
    // The times before the bytes are announced: a reader who sees a line can ask for its time.
    this.times?.write();
    // Decoding costs memory and time on logs of hundreds of MB: only when someone is watching.
    if (this.bus.hasLogListeners(this.buildId)) {
      this.bus.publishLog({ buildId: this.buildId, offset: this.offset, text: bytes.toString('utf8') });
    }
    this.offset += bytes.length;
    return true;
  }

  private emit(raw: Buffer, output: boolean): void {
    if (this.closed || this.failure || raw.length === 0) return;
    // Masked here, on whole lines, before the file and the bus see them: one place for both.
    const bytes = this.options.masks?.length
      ? Buffer.from(maskSecrets(raw.toString('utf8'), this.options.masks))
      : raw;
    const room = this.maxBytes - this.accepted;
    if (bytes.length <= room) {
      this.append(bytes, output);
      return;
    }
    // What fits is kept, cut at the last line end that fits, so the marker starts a line.
    const fits = bytes.subarray(0, room);
    const newline = fits.lastIndexOf(0x0a);
    if (newline >= 0) this.append(fits.subarray(0, newline + 1), output);
    const reason = `log limit exceeded (${formatBytes(this.maxBytes)})`;
    this.append(Buffer.from(`\n==> ${reason}: the build is stopped, later output is not kept\n`), false);
    // On disk before the build is stopped for it.
    if (this.writeBatch(false)) this.fail(reason);
  }

  /**
   * Raw output from a stream; complete lines are written now, a partial line waits for its end.
   * The held partial line is joined with only the rest of its line, not with the whole chunk: a
   * fast step's chunks almost all end mid-line, and copying every chunk to join it was the log's
   * largest cost (docs/benchmarks.md, "Log wall").
   */
  output(chunk: Buffer, stream = 'stdout'): void {
    if (this.failure) return;
    let rest = chunk;
    const pending = this.pending.get(stream);
    if (pending && pending.length > 0) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1 && pending.length + chunk.length < MAX_PENDING) {
        this.pending.set(stream, Buffer.concat([pending, chunk]));
        return;
      }
      const end = newline === -1 ? chunk.length : newline + 1;
      this.emit(Buffer.concat([pending, chunk.subarray(0, end)]), true);
      rest = chunk.subarray(end);
    }
    const lastNewline = rest.lastIndexOf(0x0a);
    if (lastNewline === -1 && rest.length < MAX_PENDING) {
      this.pending.set(stream, rest);
      return;
    }
    const cut = lastNewline === -1 ? rest.length : lastNewline + 1;
    this.emit(rest.subarray(0, cut), true);
    this.pending.set(stream, rest.subarray(cut));
  }

  /** Ends the partial lines pending on each stream with a newline, into the batch. */
  private endPartialLines(): void {
    for (const [stream, data] of this.pending) {
      if (data.length > 0) this.emit(Buffer.concat([data, Buffer.from('\n')]), true);
      this.pending.delete(stream);
    }
  }

  /**
   * Everything so far on disk now (partial lines ended): called before a state change, so a
   * record that says a step ended never points past what the file holds.
   */
  flush(): void {
    this.endPartialLines();
    this.writeBatch(false);
  }

  /** A line of our own (step markers, results), after any pending output; batched like output. */
  line(text: string): void {
    this.endPartialLines();
    this.emit(Buffer.from(`${text.replace(/\n/g, ' ')}\n`), false);
  }

  /** Flushes and closes; call it before the build's final state is stored and published. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.dropBatch();
    this.times?.close();
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // A close error (delayed EIO) changes nothing for a log that is done.
      }
    }
  }
}
