/**
 * Build changes as SSE frames, made once per change for every stream that shows them. The bus
 * has one listener here instead of one per watcher; the build is summarised (`summarize`, from
 * the HTTP layer: no commit list) and serialised once, and the frames are Buffers shared by all.
 */
import type { Build } from '../domain/build.js';
import type { EventBus } from './event-bus.js';
import { formatSse } from './sse.js';

export class BuildFrame {
  private json: string | null = null;
  private full: Buffer | null = null;
  private plain: Buffer | null = null;

  constructor(
    readonly seq: number,
    readonly build: Build,
    private readonly summarize: (build: Build) => unknown,
  ) {}

  /**
   * The summary as JSON: the `data` of the event. Made on first use: with nobody watching (the
   * usual case while pushes arrive), a change costs no summary, JSON or frame.
   */
  get data(): string {
    this.json ??= JSON.stringify(this.summarize(this.build));
    return this.json;
  }

  /** `event: build` with `id: seq`, for /api/events. */
  get frame(): Buffer {
    this.full ??= Buffer.from(formatSse({ event: 'build', id: this.seq, data: this.data }));
    return this.full;
  }

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
      const frame = new BuildFrame(seq, build, summarize);
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
