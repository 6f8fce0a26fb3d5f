/**
 * Every open SSE stream of the service, with caps in total and per client address. A stream
 * holds a socket and a share of memory for as long as the client wants: without a cap, a script
 * (or a page reloading in a loop) can hold them all.
 */
import type { SseStream } from './sse.js';

export interface WatcherLimits {
  total: number;
  perAddress: number;
}

export class Watchers {
  private readonly open = new Set<SseStream>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: WatcherLimits) {}

  get size(): number {
    return this.open.size;
  }

  /** Why one more stream from `address` is refused now, or null when it may open. */
  refusal(address: string): string | null {
    if (this.open.size >= this.limits.total) {
      return `the service has ${this.open.size} live streams open, its limit (streams.max_watchers)`;
    }
    if ((this.perAddress.get(address) ?? 0) >= this.limits.perAddress) {
      return `${address} has ${this.limits.perAddress} live streams open, the limit per address (streams.max_watchers_per_address)`;
    }
    return null;
  }

  add(stream: SseStream, address: string): void {
    this.open.add(stream);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    stream.onClose(() => {
      this.open.delete(stream);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
  }

  /** Ends every stream normally (shutdown): browsers reconnect to the next instance. */
  endAll(): void {
    for (const stream of this.open) stream.end();
  }
}
