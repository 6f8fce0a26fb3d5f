/**
 * Follows one build's log from a byte offset: what the file already holds, then what the bus
 * publishes, with no gap and no byte twice. The bus is subscribed to before the file is read and
 * live chunks are held until the read reaches the end of the file; then every chunk is compared
 * by byte offset with what was already delivered. Offsets are bytes in the file, never characters.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { EventBus, LogEvent } from './event-bus.js';

export interface LogChunk {
  text: string;
  /** Byte offset just after `text`: how many bytes a reader has once it got this chunk. */
  end: number;
}

export interface LogTailOptions {
  bus: EventBus;
  buildId: number;
  /** The log file; null while the build has not started (nothing written yet). */
  path: () => string | null;
  /** Returns false when the reader's socket is full; `drained` then says when to go on. */
  write: (chunk: LogChunk) => boolean;
  drained: () => Promise<void>;
}

const READ_SIZE = 64 * 1024;

/** Length of the longest prefix of `bytes` that does not end inside a UTF-8 character. */
export function utf8SafeLength(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

export function fileSize(path: string | null): number {
  if (!path) return 0;
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Where a reader asking for the last `bytes` bytes starts: at a line start when possible. */
export function tailStart(path: string | null, bytes: number): number {
  const size = fileSize(path);
  if (!path || size <= bytes) return 0;
  const start = size - bytes;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(bytes, READ_SIZE));
    const read = readSync(fd, buffer, 0, buffer.length, start);
    const newline = buffer.subarray(0, read).indexOf(0x0a);
    return newline === -1 ? start : start + newline + 1;
  } finally {
    closeSync(fd);
  }
}

export class LogTail {
  private sent: number;
  /** Live chunks held while the file is being read; null when they go straight out. */
  private held: LogEvent[] | null = [];
  private readonly unsubscribe: () => void;
  private stopped = false;
  /** File reads run one after another: two at once would both send the same bytes. */
  private reads: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: LogTailOptions,
    from: number,
  ) {
    this.sent = from;
    this.unsubscribe = options.bus.onLog(options.buildId, (event) => {
      if (this.held) this.held.push(event);
      else this.deliver(event);
    });
  }

  /** Bytes delivered so far, counted from the start of the file. */
  get offset(): number {
    return this.sent;
  }

  /** Sends the file from the start offset to its end, then switches to live chunks. */
  async start(): Promise<void> {
    // An offset past the end (a reader of a different file) would hide everything up to it.
    this.sent = Math.min(this.sent, fileSize(this.options.path()));
    await this.serially(() => this.catchUp());
  }

  /**
   * For a build that has ended: sends whatever the file holds beyond what was sent. No wait is
   * needed: whoever makes a build final closes its log first (execute-build.ts closes it before
   * the final transition, on this replica or another; the relay sends a replica's last log
   * progress before its final state), and a build the reaper ends belongs to a replica that is
   * gone. The one line written later, a replica's note that it lost its lease, reaches only
   * readers of the file, never a stream that has already ended: no wait could cover it.
   */
  async finish(): Promise<void> {
    await this.serially(async () => {
      this.held ??= [];
      await this.catchUp();
      this.stop();
    });
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.reads.then(task);
    this.reads = run.catch(() => undefined);
    return run;
  }

  private async catchUp(): Promise<void> {
    const path = this.options.path();
    if (path && fileSize(path) > this.sent) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(READ_SIZE);
        while (!this.stopped) {
          const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, this.sent);
          if (bytesRead === 0) break;
          const safe = utf8SafeLength(buffer.subarray(0, bytesRead)) || bytesRead;
          if (!this.emit(buffer.subarray(0, safe))) await this.options.drained();
          // A write cut through a character: the rest comes with the next read or a live chunk.
          if (safe < bytesRead && bytesRead < READ_SIZE) break;
        }
      } finally {
        await handle.close();
      }
    }
    const held = this.held ?? [];
    this.held = null;
    for (const event of held) this.deliver(event);
  }

  private deliver(event: LogEvent): void {
    if (this.stopped) return;
    // BuildLog writes a line over 64 KB in pieces; a piece cut inside a character decodes with
    // U+FFFD and its text no longer has the bytes of the file. The file has them: read those.
    if (event.text.includes('\uFFFD')) return this.readSync();
    let bytes = Buffer.from(event.text, 'utf8');
    const end = event.offset + bytes.length;
    if (end <= this.sent) return;
    // Bytes between what was sent and this chunk: only if the bus skipped some.
    if (event.offset > this.sent) this.readSync(event.offset);
    if (event.offset < this.sent) bytes = bytes.subarray(this.sent - event.offset);
    this.emit(bytes, end);
  }

  /** Sends the file from what was sent up to `until`, or to its end (then to a character boundary). */
  private readSync(until?: number): void {
    const path = this.options.path();
    const end = until ?? fileSize(path);
    if (!path || end <= this.sent) return;
    const buffer = Buffer.alloc(end - this.sent);
    const fd = openSync(path, 'r');
    try {
      const read = readSync(fd, buffer, 0, buffer.length, this.sent);
      const usable = until === undefined ? utf8SafeLength(buffer.subarray(0, read)) : read;
      this.emit(buffer.subarray(0, usable));
    } finally {
      closeSync(fd);
    }
  }

  private emit(bytes: Buffer, end = this.sent + bytes.length): boolean {
    if (bytes.length === 0) return true;
    this.sent = end;
    return this.options.write({ text: bytes.toString('utf8'), end });
  }
}
