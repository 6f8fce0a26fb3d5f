/** In-process events: build state changes and log bytes, for the monitor and its SSE streams. */
import { EventEmitter } from 'node:events';
import type { Build } from '../domain/build.js';

export interface BuildEvent {
  seq: number;
  build: Build;
}

export interface LogEvent {
  buildId: number;
  /** Byte offset in the log file where `text` starts. */
  offset: number;
  text: string;
}

/**
 * A listener's error stays with that listener: publishing is part of saving a state change, and a
 * watcher that fails (a log file it cannot open) must not fail the build or the request that
 * published.
 */
function guarded<T>(listener: (event: T) => void, onError: (error: unknown) => void): (event: T) => void {
  return (event) => {
    try {
      listener(event);
    } catch (error) {
      onError(error);
    }
  };
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  private seq = 0;

  /** `onListenerError` hears what a listener threw (the service logs it). */
  constructor(private readonly onListenerError: (error: unknown) => void = () => undefined) {
    this.emitter.setMaxListeners(0);
  }

  publishBuild(build: Build): BuildEvent {
    const event = { seq: ++this.seq, build };
    this.emitter.emit('build', event);
    return event;
  }

  publishLog(event: LogEvent): void {
    this.emitter.emit(`log:${event.buildId}`, event);
  }

  onBuild(listener: (event: BuildEvent) => void): () => void {
    const wrapped = guarded(listener, this.onListenerError);
    this.emitter.on('build', wrapped);
    return () => this.emitter.off('build', wrapped);
  }

  hasLogListeners(buildId: number): boolean {
    return this.emitter.listenerCount(`log:${buildId}`) > 0;
  }

  onLog(buildId: number, listener: (event: LogEvent) => void): () => void {
    const wrapped = guarded(listener, this.onListenerError);
    this.emitter.on(`log:${buildId}`, wrapped);
    return () => this.emitter.off(`log:${buildId}`, wrapped);
  }

  get lastSeq(): number {
    return this.seq;
  }
}
