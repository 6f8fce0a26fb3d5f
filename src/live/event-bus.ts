/** In-process events: build state changes and log bytes, for the monitor and its SSE streams. */
import { EventEmitter } from 'node:events';
import type { Build } from '../domain/build.js';

export interface BuildEvent {
  seq: number;
  build: Build;
  /**
   * Made by another replica and relayed here (pg-relay.ts): what belongs to the replica that made
   * the change (its commit status, its metrics, relaying it again) skips it.
   */
  remote?: boolean;
}

export interface LogEvent {
  buildId: number;
  /** Byte offset in the log file where `text` starts. */
  offset: number;
  text: string;
  /** Written by another replica and read here from the shared logs directory (pg-relay.ts). */
  remote?: boolean;
}

/** Every build's log events, for the relay to other replicas; per-build names never clash with it. */
const ANY_LOG = 'log:any';

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

  publishBuild(build: Build, options: { remote?: boolean } = {}): BuildEvent {
    const event: BuildEvent = { seq: ++this.seq, build, ...(options.remote ? { remote: true } : {}) };
    this.emitter.emit('build', event);
    return event;
  }

  publishLog(event: LogEvent): void {
    this.emitter.emit(`log:${event.buildId}`, event);
    this.emitter.emit(ANY_LOG, event);
  }

  onBuild(listener: (event: BuildEvent) => void): () => void {
    const wrapped = guarded(listener, this.onListenerError);
    this.emitter.on('build', wrapped);
    return () => this.emitter.off('build', wrapped);
  }

  /** Whether a log's writer should publish its bytes: someone here watches it, or a relay does. */
  hasLogListeners(buildId: number): boolean {
    return this.hasLogWatchers(buildId) || this.emitter.listenerCount(ANY_LOG) > 0;
  }

  /** Whether someone here follows this build's log (a relay reads remote bytes only then). */
  hasLogWatchers(buildId: number): boolean {
    return this.emitter.listenerCount(`log:${buildId}`) > 0;
  }

  /** Every build's log events (the PostgreSQL relay announces their progress to other replicas). */
  onAnyLog(listener: (event: LogEvent) => void): () => void {
    const wrapped = guarded(listener, this.onListenerError);
    this.emitter.on(ANY_LOG, wrapped);
    return () => this.emitter.off(ANY_LOG, wrapped);
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
