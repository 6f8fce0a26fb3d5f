/**
 * One build's log file. Output is written with a synchronous write as each complete line arrives
 * (a crash loses at most the line being written) and published on the bus with its byte offset.
 * stdout and stderr are buffered separately up to a newline so their lines never interleave
 * mid-line; complete lines are written in the order they arrive.
 *
 * The log is bounded (`maxBytes`) and never throws: it is written from the executor's stream
 * callbacks, where an exception would take the whole service down. When the cap is reached, or a
 * write fails (ENOSPC, EIO), it stops writing, remembers why in `failure` and calls `onFailure`
 * once; the scheduler then fails that build, and only that build.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_LOG_MAX_BYTES, formatBytes } from '../domain/limits.js';
import type { EventBus } from './event-bus.js';
import { maskSecrets } from '../domain/mask-secrets.js';

/** A line longer than this is written in pieces rather than held in memory. */
const MAX_PENDING = 64 * 1024;

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
  private offset = 0;
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
    } catch (error) {
      this.fail(`log write failed: ${describeError(error)}`);
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    this.pending.clear();
    this.options.onFailure?.(reason);
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
    // Decoding costs memory and time on logs of hundreds of MB: only when someone is watching.
    if (this.bus.hasLogListeners(this.buildId)) {
      this.bus.publishLog({ buildId: this.buildId, offset: this.offset, text: bytes.toString('utf8') });
    }
    this.offset += bytes.length;
    return true;
  }

  private emit(raw: Buffer): void {
    if (this.closed || this.failure || raw.length === 0) return;
    // Masked here, on whole lines, before the file and the bus see them: one place for both.
    const bytes = this.options.masks?.length
      ? Buffer.from(maskSecrets(raw.toString('utf8'), this.options.masks))
      : raw;
    const room = this.maxBytes - this.offset;
    if (bytes.length <= room) {
      this.write(bytes);
      return;
    }
    // What fits is kept, cut at the last line end that fits, so the marker starts a line.
    const fits = bytes.subarray(0, room);
    const newline = fits.lastIndexOf(0x0a);
    if (newline >= 0 && !this.write(fits.subarray(0, newline + 1))) return;
    const reason = `log limit exceeded (${formatBytes(this.maxBytes)})`;
    if (this.write(Buffer.from(`\n==> ${reason}: the build is stopped, later output is not kept\n`)))
      this.fail(reason);
  }

  /** Raw output from a stream; complete lines are written now, a partial line waits for its end. */
  output(chunk: Buffer, stream = 'stdout'): void {
    if (this.failure) return;
    const pending = this.pending.get(stream);
    const data = pending && pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    const lastNewline = data.lastIndexOf(0x0a);
    if (lastNewline === -1 && data.length < MAX_PENDING) {
      this.pending.set(stream, data);
      return;
    }
    const cut = lastNewline === -1 ? data.length : lastNewline + 1;
    this.emit(data.subarray(0, cut));
    this.pending.set(stream, data.subarray(cut));
  }

  /** Writes whatever partial lines are pending. */
  flush(): void {
    for (const [stream, data] of this.pending) {
      if (data.length > 0) this.emit(Buffer.concat([data, Buffer.from('\n')]));
      this.pending.delete(stream);
    }
  }

  /** A line of our own (step markers, results), after any pending output. */
  line(text: string): void {
    this.flush();
    this.emit(Buffer.from(`${text.replace(/\n/g, ' ')}\n`));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // A close error (delayed EIO) changes nothing for a log that is done.
      }
    }
  }
}
