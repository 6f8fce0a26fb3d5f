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

export class EventBus {
  private readonly emitter = new EventEmitter();
  private seq = 0;

  constructor() {
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
    this.emitter.on('build', listener);
    return () => this.emitter.off('build', listener);
  }

  hasLogListeners(buildId: number): boolean {
    return this.emitter.listenerCount(`log:${buildId}`) > 0;
  }

  onLog(buildId: number, listener: (event: LogEvent) => void): () => void {
    this.emitter.on(`log:${buildId}`, listener);
    return () => this.emitter.off(`log:${buildId}`, listener);
  }

  get lastSeq(): number {
    return this.seq;
  }
}
