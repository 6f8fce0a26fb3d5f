/**
 * Server-Sent Events over a raw Node response: the framing, a heartbeat, and a cap on what one
 * client may leave unread. A client over the cap is dropped rather than buffered without bound;
 * EventSource reconnects by itself with `Last-Event-ID`, so a dropped client resumes where it was.
 */
import type { ServerResponse } from 'node:http';

export interface SseOptions {
  /** Comment lines keep proxies and browsers from timing out an idle stream. */
  heartbeatMs?: number;
  /** Bytes the socket may hold unsent before the client is dropped. */
  maxBufferedBytes?: number;
  /** What EventSource waits before reconnecting after the stream ends unexpectedly. */
  retryMs?: number;
}

export interface SseMessage {
  event?: string;
  id?: string | number;
  data: string;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // nginx buffers proxied responses by default, which would hold events back.
  'x-accel-buffering': 'no',
} as const;

/** One event in wire format. Each line of `data` becomes its own `data:` field. */
export function formatSse(message: SseMessage): string {
  let out = '';
  if (message.event !== undefined) out += `event: ${singleLine(message.event)}\n`;
  if (message.id !== undefined) out += `id: ${singleLine(String(message.id))}\n`;
  for (const line of message.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function singleLine(value: string): string {
  return value.replace(/[\r\n\0]/g, '');
}

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxBufferedBytes: number;
  private readonly closeListeners: (() => void)[] = [];
  private ended = false;
  private wasDropped = false;

  constructor(
    private readonly response: ServerResponse,
    options: SseOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    response.writeHead(200, SSE_HEADERS);
    response.write(`retry: ${options.retryMs ?? 1000}\n\n`);
    this.heartbeat = setInterval(() => this.comment('heartbeat'), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
    response.on('close', () => this.finish());
    // The client may have gone while the route awaited (a slow database): its 'close' was already
    // emitted, so no later one would free the stream's place under the watcher caps.
    if (response.destroyed || response.socket?.destroyed || !response.socket) this.finish();
  }

  get closed(): boolean {
    return this.ended;
  }

  /** True when the service cut the stream because the client did not keep up. */
  get dropped(): boolean {
    return this.wasDropped;
  }

  /** Runs once when the stream ends, whoever ended it. */
  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.push(listener);
  }

  /**
   * Writes one event. Returns false when the socket is saturated (the caller may wait for
   * `drained()`); a client past the cap is dropped and false is returned as well.
   */
  send(message: SseMessage): boolean {
    return this.sendFrame(formatSse(message));
  }

  /**
   * Writes an event already in wire format. Broadcasts format an event once and hand the same
   * Buffer to every stream: the sockets then hold references to one copy, not one copy each.
   */
  sendFrame(frame: Buffer | string): boolean {
    if (this.ended) return false;
    const ok = this.response.write(frame);
    if (this.response.writableLength > this.maxBufferedBytes) {
      this.drop();
      return false;
    }
    return ok;
  }

  comment(text: string): void {
    this.sendFrame(`: ${singleLine(text)}\n\n`);
  }

  /** Resolves when the socket has room again, or the stream ended. */
  drained(): Promise<void> {
    if (this.ended || !this.response.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.on('drain', done);
      this.response.on('close', done);
    });
  }

  /** Ends the stream normally. */
  end(): void {
    if (this.ended) return;
    this.response.end();
    this.finish();
  }

  /** Ends the stream abruptly: for a client that does not keep up. */
  drop(): void {
    if (this.ended) return;
    this.wasDropped = true;
    this.response.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
