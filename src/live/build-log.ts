/**
 * One build's log file. Output is written with a synchronous write as each complete line arrives
 * (a crash loses at most the line being written) and published on the bus with its byte offset.
 * stdout and stderr are buffered separately up to a newline so their lines never interleave.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventBus } from './event-bus.js';

/** A line longer than this is written in pieces rather than held in memory. */
const MAX_PENDING = 64 * 1024;

export class BuildLog {
  private readonly fd: number;
  private offset = 0;
  private readonly pending = new Map<string, Buffer>();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly buildId: number,
    private readonly bus: EventBus,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  private emit(bytes: Buffer): void {
    if (this.closed || bytes.length === 0) return;
    writeSync(this.fd, bytes);
    // Decoding costs memory and time on logs of hundreds of MB: only when someone is watching.
    if (this.bus.hasLogListeners(this.buildId)) {
      this.bus.publishLog({ buildId: this.buildId, offset: this.offset, text: bytes.toString('utf8') });
    }
    this.offset += bytes.length;
  }

  /** Raw output from a stream; complete lines are written now, a partial line waits for its end. */
  output(chunk: Buffer, stream = 'stdout'): void {
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
    closeSync(this.fd);
  }
}
