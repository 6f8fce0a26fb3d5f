/**
 * The last lines of every running build's log, pushed to the monitor over its one event stream
 * (`/api/events?tails=1`) instead of one log stream per build: a browser holds 6 connections per
 * host, and a page with one stream per running build froze once five builds ran.
 *
 * Bounded whatever the builds print: each tail is the last TAIL_LINES lines (each cut to 500
 * characters), sent whole (a client just replaces what it shows), at most once per INTERVAL_MS
 * per build, serialised once for all watchers. Logs are followed only while someone watches.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isFinal, type Build } from '../domain/build.js';
import { Broadcast } from './broadcast.js';
import type { EventBus } from './event-bus.js';
import { LastLines } from './last-lines.js';
import { fileSize, tailStart } from './log-tail.js';
import { formatSse, type SseStream } from './sse.js';

export const TAIL_LINES = 15;
const INTERVAL_MS = 500;
/** Enough bytes for 15 lines of a compiler's output, read once when a tail starts. */
const SEED_BYTES = 8 * 1024;

interface FollowedLog {
  lines: LastLines;
  dirty: boolean;
  unsubscribe: () => void;
}

function readEnd(path: string | null): string {
  const start = tailStart(path, SEED_BYTES);
  const size = fileSize(path);
  if (!path || size <= start) return '';
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, start)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export class TailHub {
  private readonly watchers = new Broadcast();
  /** Running builds and their log files, from the bus (the service starts with none running). */
  private readonly running = new Map<number, string | null>();
  private readonly followed = new Map<number, FollowedLog>();
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: EventBus) {
    this.unsubscribe = bus.onBuild(({ build }) => this.learn(build));
  }

  /** Adds a watcher: it gets every running build's tail now, then the changes. */
  add(stream: SseStream): void {
    this.watchers.add(stream);
    stream.onClose(() => {
      if (this.watchers.size === 0) this.idle();
    });
    for (const id of this.running.keys()) this.follow(id);
    this.timer ??= setInterval(() => this.flush(), INTERVAL_MS).unref();
    for (const [id, log] of this.followed) stream.sendFrame(this.frame(id, log));
  }

  close(): void {
    this.unsubscribe();
    this.idle();
  }

  private learn(build: Build): void {
    if (build.state === 'running') {
      const known = this.running.get(build.id);
      this.running.set(build.id, known ?? build.logPath);
      if (this.watchers.size > 0) this.follow(build.id);
    } else if (isFinal(build.state) || build.state === 'queued') {
      this.running.delete(build.id);
      this.followed.get(build.id)?.unsubscribe();
      this.followed.delete(build.id);
    }
  }

  private follow(id: number): void {
    const path = this.running.get(id) ?? null;
    if (this.followed.has(id) || !path) return;
    const log: FollowedLog = { lines: new LastLines(TAIL_LINES), dirty: false, unsubscribe: () => {} };
    // Subscribed first, then read: the log is written and published in one synchronous call, so
    // whatever the read misses comes as an event, and nothing comes twice.
    log.unsubscribe = this.bus.onLog(id, (event) => {
      log.lines.push(event.text);
      log.dirty = true;
    });
    log.lines.push(readEnd(path));
    this.followed.set(id, log);
  }

  private frame(id: number, log: FollowedLog): Buffer {
    return Buffer.from(formatSse({ event: 'tail', data: JSON.stringify({ id, text: log.lines.text }) }));
  }

  private flush(): void {
    for (const [id, log] of this.followed) {
      if (!log.dirty) continue;
      log.dirty = false;
      this.watchers.send(this.frame(id, log));
    }
  }

  /** Nobody watches: stop following (the build log then skips decoding its output). */
  private idle(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const log of this.followed.values()) log.unsubscribe();
    this.followed.clear();
  }
}
