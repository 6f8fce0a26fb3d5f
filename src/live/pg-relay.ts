/**
 * The shared live view of several replicas on one PostgreSQL database (docs/scale-out.md): this
 * process's build changes and log progress go out as NOTIFYs, and every other replica's come in
 * and are published on the local EventBus, so the SSE routes show every build on any replica
 * without knowing where it runs. With SQLite there is one process and no relay.
 *
 * Out: a build change is announced at once (just its id: the receiver reads the row); log
 * progress is coalesced per build to one `from..to` byte range every PROGRESS_MS (NOTIFY payloads
 * are small: never log text). While the connection is down both wait here and go out when it is
 * back.
 * In: a build id → `store.getBuild` → `publishBuild(build, { remote })`; a byte range → the new
 * bytes read from the log file on the shared logs directory, from the last offset published here,
 * only while someone here follows that log. Work for one build runs in order, one step at a time.
 * After a lost connection, every build that was queued or running is read and published again:
 * what changed meanwhile is seen, and log bytes missed are read with the next progress notice.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isFinal, type Build } from '../domain/build.js';
import type { Store } from '../store/store.js';
import type { EventBus, LogEvent } from './event-bus.js';
import { utf8SafeLength } from './log-tail.js';
import { PgListener } from './pg-listener.js';
import { decodeRelayMessage, encodeRelayMessage, type RelayMessage } from './relay-message.js';

export const DEFAULT_CHANNEL = 'autobuilder_live';
const PROGRESS_MS = 100;
/** A progress notice names at most this many bytes to read at once (one read, one event). */
const MAX_READ = 1024 * 1024;

export interface PgRelayOptions {
  url: string;
  bus: EventBus;
  store: Pick<Store, 'getBuild' | 'listActive'>;
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** The NOTIFY channel; tests give each relay pair one of its own. */
  channel?: string;
  progressMs?: number;
}

export class PgRelay {
  /** This process in payloads: its own notifications come back to it and are skipped. */
  readonly sender = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly listener: PgListener;
  private readonly unsubscribe: Array<() => void> = [];
  // Out
  private readonly changedBuilds = new Set<number>();
  private readonly progress = new Map<number, { from: number; to: number }>();
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();
  // In
  private readonly chains = new Map<number, Promise<void>>();
  /** Log bytes published here so far, per build followed from elsewhere. */
  private readonly published = new Map<number, number>();
  private readonly logPaths = new Map<number, string>();
  private readonly active = new Set<number>();

  constructor(private readonly options: PgRelayOptions) {
    const { logger } = options;
    this.listener = new PgListener({
      url: options.url,
      channel: options.channel ?? DEFAULT_CHANNEL,
      applicationName: `autobuilder-live ${this.sender}`.slice(0, 63),
      onNotification: (payload) => this.receive(payload),
      onConnected: (first) => {
        logger.info(`live view: listening for other replicas' builds${first ? '' : ' again'}`);
        this.flush();
        if (!first) this.resync();
      },
      onDisconnected: (reason) =>
        logger.warn(`live view: lost the connection to the database (${reason}); reconnecting`),
    });
  }

  get connected(): boolean {
    return this.listener.isConnected;
  }

  start(): void {
    const { bus } = this.options;
    this.unsubscribe.push(
      bus.onBuild(({ build, remote }) => {
        if (remote) return;
        this.changedBuilds.add(build.id);
        this.flush();
      }),
      bus.onAnyLog((event) => this.noteProgress(event)),
    );
    this.listener.start();
  }

  /** Sends what is pending (best effort), then closes the connection. */
  async close(): Promise<void> {
    for (const stop of this.unsubscribe.splice(0)) stop();
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    await this.sending;
    await this.listener.close();
  }

  private noteProgress(event: LogEvent): void {
    if (event.remote) return;
    // The text's length in bytes is the file's, except where a piece was cut inside a character
    // (U+FFFD is longer): the receiver reads what the file holds, never past its end.
    const end = event.offset + Buffer.byteLength(event.text, 'utf8');
    const known = this.progress.get(event.buildId);
    if (known) known.to = Math.max(known.to, end);
    else this.progress.set(event.buildId, { from: event.offset, to: end });
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.options.progressMs ?? PROGRESS_MS);
  }

  /** Sends progress, then build changes (a final state after its last log bytes), one at a time. */
  private flush(): void {
    if (!this.listener.isConnected) return;
    const messages: RelayMessage[] = [];
    for (const [b, { from, to }] of this.progress)
      messages.push({ v: 1, i: this.sender, k: 'log', b, f: from, t: to });
    for (const b of this.changedBuilds) messages.push({ v: 1, i: this.sender, k: 'build', b });
    this.progress.clear();
    this.changedBuilds.clear();
    if (messages.length === 0) return;
    this.sending = this.sending.then(async () => {
      for (const message of messages) {
        if (await this.listener.notify(encodeRelayMessage(message))) continue;
        // Not sent (the connection dropped): kept for the next connection.
        if (message.k === 'build') this.changedBuilds.add(message.b);
        else {
          const known = this.progress.get(message.b);
          this.progress.set(message.b, {
            from: Math.min(message.f, known?.from ?? message.f),
            to: Math.max(message.t, known?.to ?? 0),
          });
        }
      }
    });
  }

  private receive(payload: string): void {
    const message = decodeRelayMessage(payload);
    if (!message) {
      this.options.logger.debug({ payload: payload.slice(0, 200) }, 'live view: ignored a notification');
      return;
    }
    if (message.i === this.sender) return;
    if (message.k === 'build') this.serially(message.b, () => this.relayBuild(message.b));
    else this.serially(message.b, () => this.relayLog(message.b, message.f, message.t));
  }

  /** Runs `task` after the ones before it for the same build; a failure is logged, never thrown. */
  private serially(id: number, task: () => Promise<void>): void {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, build: id }, `live view: could not relay build #${id}`),
      );
    this.chains.set(id, next);
    next
      .then(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      })
      .catch(() => undefined);
  }

  private async relayBuild(id: number): Promise<void> {
    const build = await this.options.store.getBuild(id);
    if (!build) return;
    this.learn(build);
    this.options.bus.publishBuild(build, { remote: true });
  }

  private learn(build: Build): void {
    if (build.logPath) this.logPaths.set(build.id, build.logPath);
    if (!isFinal(build.state)) {
      this.active.add(build.id);
      return;
    }
    // An ended build's log is read from the file by whoever follows it (LogTail.finish).
    this.active.delete(build.id);
    this.published.delete(build.id);
    this.logPaths.delete(build.id);
  }

  private async relayLog(id: number, from: number, to: number): Promise<void> {
    const { bus, store } = this.options;
    const start = this.published.get(id) ?? from;
    if (!bus.hasLogWatchers(id)) {
      // Nobody follows it here: a follower that comes reads the file itself.
      this.published.set(id, Math.max(start, to));
      return;
    }
    if (to <= start) return;
    let path = this.logPaths.get(id);
    if (!path) {
      const build = await store.getBuild(id);
      if (!build?.logPath) return;
      this.learn(build);
      path = build.logPath;
    }
    const bytes = await readRange(path, start, Math.min(to - start, MAX_READ));
    // Cut before a character split by the range's end: its rest comes with the next notice.
    const usable = utf8SafeLength(bytes) || bytes.length;
    if (usable === 0) return;
    this.published.set(id, start + usable);
    bus.publishLog({
      buildId: id,
      offset: start,
      text: bytes.subarray(0, usable).toString('utf8'),
      remote: true,
    });
    // A range longer than one read: the rest now, in order.
    if (bytes.length === MAX_READ && start + usable < to) await this.relayLog(id, from, to);
  }

  /** After a lost connection: what was queued or running may have changed unseen. */
  private resync(): void {
    void this.options.store
      .listActive()
      .then((builds) => {
        const ids = new Set([...this.active, ...builds.map((b) => b.id)]);
        for (const id of ids) this.serially(id, () => this.relayBuild(id));
      })
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'live view: could not read the active builds again'),
      );
  }
}

/** Up to `length` bytes of the file from `start` (fewer where the file ends sooner). */
async function readRange(path: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
