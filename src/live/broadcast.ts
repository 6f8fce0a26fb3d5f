/**
 * A group of SSE streams that receive the same events. The caller formats an event once and the
 * same bytes go to every stream: the cost of an event is one serialisation whatever the number of
 * watchers, and the sockets' queues share one Buffer instead of holding a copy each. A stream
 * that falls behind is dropped by `SseStream.sendFrame` (it leaves the group when it closes).
 */
import type { SseStream } from './sse.js';

export class Broadcast {
  private readonly streams = new Set<SseStream>();

  add(stream: SseStream): void {
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
  }

  get size(): number {
    return this.streams.size;
  }

  send(frame: Buffer): void {
    // A stream dropped during the loop deletes itself; deleting the current entry is safe in a Set.
    for (const stream of this.streams) stream.sendFrame(frame);
  }
}
