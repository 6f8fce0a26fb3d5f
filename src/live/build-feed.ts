/**
 * Build changes as SSE frames, made once per change for every stream that shows them. The bus
 * has one listener here instead of one per watcher; the build is summarised (`summarize`, from
 * the HTTP layer: no commit list) and serialised once, and the frames are Buffers shared by all.
 */
import type { Build } from '../domain/build.js';
import type { EventBus } from './event-bus.js';
import { formatSse } from './sse.js';

export class BuildFrame {
  private plain: Buffer | null = null;

  constructor(
    readonly seq: number,
    readonly build: Build,
    /** The summary as JSON: the `data` of the event. */
    readonly data: string,
    /** `event: build` with `id: seq`, for /api/events. */
    readonly frame: Buffer,
  ) {}

  /**
   * The same event without an `id`, for log streams: their ids are byte offsets, and an event
   * without an id leaves the browser's Last-Event-ID as it was.
   */
  get frameWithoutId(): Buffer {
    this.plain ??= Buffer.from(formatSse({ event: 'build', data: this.data }));
    return this.plain;
  }
}

export class BuildFeed {
  private readonly listeners = new Set<(frame: BuildFrame) => void>();
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus, summarize: (build: Build) => unknown) {
    this.unsubscribe = bus.onBuild(({ seq, build }) => {
      if (this.listeners.size === 0) return;
      const data = JSON.stringify(summarize(build));
      const frame = new BuildFrame(
        seq,
        build,
        data,
        Buffer.from(formatSse({ event: 'build', id: seq, data })),
      );
      for (const listener of this.listeners) listener(frame);
    });
  }

  on(listener: (frame: BuildFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
