/**
 * One Docker engine builds run on: its executor, capacity and health. While the engine is marked
 * down every call through `executor` fails at once (and calls in flight when it goes down fail
 * then), so a build on a hung engine ends instead of waiting out each call's deadline; the
 * containers it left are removed when the engine answers again (scheduler).
 */
import type { Readable } from 'node:stream';
import {
  ExecutorUnavailable,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type RunOptions,
  type Executor,
  type ManagedContainer,
  type CopyVolumeOptions,
  type VolumeUsage,
} from './executor.js';

export interface EngineStatus {
  name: string;
  url: string;
  capacity: number;
  up: boolean;
  /** Why it is down (the last failed ping); null while up. */
  reason: string | null;
  /** Since when it is in its current state (ISO). */
  since: string;
}

export class Engine {
  up = true;
  reason: string | null = null;
  since = new Date().toISOString();
  /** When the engine last answered a ping (ms since epoch). */
  lastAnswer = Date.now();
  readonly executor: Executor;
  private down = new AbortController();

  constructor(
    readonly name: string,
    readonly url: string,
    readonly capacity: number,
    /** The engine's own executor (ping and health checks go straight to it). */
    readonly raw: Executor,
    /** Whether the engine holds `image` (the registry's current copy); false when unsure. */
    readonly holds: (image: string) => Promise<boolean> = async () => false,
  ) {
    this.executor = new GuardedExecutor(raw, <T>(call: () => Promise<T>) => this.guard(call));
  }

  status(): EngineStatus {
    const { name, url, capacity, up, reason, since } = this;
    return { name, url, capacity, up, reason, since };
  }

  /** Returns true when this changed the state. */
  markDown(reason: string): boolean {
    if (!this.up) return false;
    this.up = false;
    this.reason = reason;
    this.since = new Date().toISOString();
    this.down.abort();
    return true;
  }

  markUp(): boolean {
    this.lastAnswer = Date.now();
    if (this.up) return false;
    this.up = true;
    this.reason = null;
    this.since = new Date().toISOString();
    this.down = new AbortController();
    return true;
  }

  private unavailable(): ExecutorUnavailable {
    return new ExecutorUnavailable(`engine ${this.name} is down: ${this.reason ?? 'not answering'}`);
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (!this.up) return Promise.reject(this.unavailable());
    const signal = this.down.signal;
    return new Promise<T>((resolve, reject) => {
      const onDown = () => reject(this.unavailable());
      signal.addEventListener('abort', onDown, { once: true });
      call()
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onDown));
    });
  }
}

type Guard = <T>(call: () => Promise<T>) => Promise<T>;

/** Every call of `inner` through the engine's guard. */
class GuardedExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly guard: Guard,
  ) {}

  ping(signal?: AbortSignal): Promise<void> {
    return this.guard(() => this.inner.ping(signal));
  }
  ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    return this.guard(() => this.inner.ensureImage(image, onProgress));
  }
  listTags(repo: string): Promise<string[]> {
    return this.guard(() => this.inner.listTags(repo));
  }
  create(spec: ContainerSpec): Promise<ContainerHandle> {
    return this.guard(() => this.inner.create(spec));
  }
  runFirstStep(handle: ContainerHandle, options: RunOptions): Promise<number> {
    return this.guard(() => this.inner.runFirstStep(handle, options));
  }
  resume(handle: ContainerHandle): Promise<void> {
    return this.guard(() => this.inner.resume(handle));
  }
  start(spec: ContainerSpec): Promise<ContainerHandle> {
    return this.guard(() => this.inner.start(spec));
  }
  putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    return this.guard(() => this.inner.putArchive(handle, path, tar));
  }
  exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    return this.guard(() => this.inner.exec(handle, command, options));
  }
  copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    return this.guard(() => this.inner.copyFileOut(handle, path, destination, options));
  }
  commit(
    handle: ContainerHandle,
    image: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ imageId: string; replaced: string | null }> {
    return this.guard(() => this.inner.commit(handle, image, options));
  }
  retag(from: string, image: string): Promise<{ replaced: string | null }> {
    return this.guard(() => this.inner.retag(from, image));
  }
  removeImage(image: string): Promise<void> {
    return this.guard(() => this.inner.removeImage(image));
  }
  destroy(handle: ContainerHandle | string): Promise<void> {
    return this.guard(() => this.inner.destroy(handle));
  }
  pruneImages(): Promise<number> {
    return this.guard(() => this.inner.pruneImages());
  }
  listManaged(instance?: string): Promise<ManagedContainer[]> {
    return this.guard(() => this.inner.listManaged(instance));
  }
  createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    return this.guard(() => this.inner.createVolume(name, labels));
  }
  hasVolume(name: string): Promise<boolean> {
    return this.guard(() => this.inner.hasVolume(name));
  }
  copyVolume(from: string, to: string, image: string, options?: CopyVolumeOptions): Promise<void> {
    return this.guard(() => this.inner.copyVolume(from, to, image, options));
  }
  listVolumes(): Promise<VolumeUsage[]> {
    return this.guard(() => this.inner.listVolumes());
  }
  removeVolume(name: string): Promise<boolean> {
    return this.guard(() => this.inner.removeVolume(name));
  }
}
