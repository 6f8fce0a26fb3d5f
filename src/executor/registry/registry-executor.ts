/**
 * An engine's executor when images go through a registry: committed images are pushed there as
 * `<registry>/<image>`, base tags are read from its tag list, and a container starts from the
 * registry's copy, pulled first when this engine lacks it or holds an older one of that tag.
 * The push is the last thing a build does before it succeeds, so the registry's tag moves only
 * after the build that made it succeeded.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { splitImageTemplate } from '../../domain/base-image.js';
import {
  PENDING_REPOSITORY,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type RunOptions,
  type Executor,
  type ManagedContainer,
  type CopyVolumeOptions,
  type VolumeUsage,
} from '../executor.js';
import { pullImage, pushImage, repoDigests } from '../docker/image-transfer.js';
import type { RegistryClient } from './registry-client.js';

export interface TransferObserver {
  (kind: 'pull' | 'push', seconds: number): void;
}

export class RegistryExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly docker: Docker,
    private readonly registry: RegistryClient,
    /** Image repositories of committed images (shared by all engines): these live in the registry. */
    private readonly committed: Set<string>,
    private readonly observe: TransferObserver = () => undefined,
  ) {}

  ping(signal?: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }

  ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    return this.inner.ensureImage(image, onProgress);
  }

  /** The registry's tags: every engine sees every committed image, wherever it was built. */
  async listTags(repo: string): Promise<string[]> {
    this.committed.add(repo);
    return this.registry.tags(repo);
  }

  /** The image a container of `image` starts from here: the registry's copy for committed ones. */
  isCommitted(image: string): boolean {
    return this.committed.has(splitImageTemplate(image).repo);
  }

  /** `spec` as this engine makes it: a committed image from the registry's copy, pulled when stale. */
  private async onThisEngine(spec: ContainerSpec): Promise<ContainerSpec> {
    if (!this.isCommitted(spec.image)) return spec;
    await this.pullIfStale(spec.image);
    return { ...spec, image: this.registry.qualify(spec.image) };
  }

  async create(spec: ContainerSpec): Promise<ContainerHandle> {
    return this.inner.create(await this.onThisEngine(spec));
  }

  runFirstStep(handle: ContainerHandle, options: RunOptions): Promise<number> {
    return this.inner.runFirstStep(handle, options);
  }

  resume(handle: ContainerHandle): Promise<void> {
    return this.inner.resume(handle);
  }

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    return this.inner.start(await this.onThisEngine(spec));
  }

  /** Whether this engine holds the registry's current copy of `image` (by digest). */
  async holdsCurrent(image: string, timeoutMs?: number): Promise<boolean> {
    const { repo, tagTemplate: tag } = splitImageTemplate(image);
    const [digest, local] = await Promise.all([
      this.registry.digest(repo, tag),
      repoDigests(this.docker, this.registry.qualify(image), timeoutMs),
    ]);
    if (local === null) return false;
    return digest === null || local.includes(`${this.registry.qualify(repo)}@${digest}`);
  }

  private async pullIfStale(image: string): Promise<void> {
    if (await this.holdsCurrent(image)) return;
    const started = performance.now();
    await pullImage(this.docker, this.registry.qualify(image));
    this.observe('pull', (performance.now() - started) / 1000);
  }

  putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    return this.inner.putArchive(handle, path, tar);
  }

  exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    return this.inner.exec(handle, command, options);
  }

  copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    return this.inner.copyFileOut(handle, path, destination, options);
  }

  async commit(
    handle: ContainerHandle,
    image: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ imageId: string; replaced: string | null }> {
    // A pending image (commit-point.ts) stays on this engine until the build reaches its commit
    // point; only `retag` gives it its name in the registry.
    if (image.startsWith(PENDING_REPOSITORY)) return this.inner.commit(handle, image, options);
    const qualified = this.registry.qualify(image);
    const result = await this.inner.commit(handle, qualified, options);
    await this.push(image, qualified);
    return result;
  }

  /** The name moves on this engine, then in the registry: the last thing a successful build does. */
  async retag(from: string, image: string): Promise<{ replaced: string | null }> {
    const qualified = this.registry.qualify(image);
    const result = await this.inner.retag(from, qualified);
    await this.push(image, qualified);
    return result;
  }

  removeImage(image: string): Promise<void> {
    return this.inner.removeImage(
      image.startsWith(PENDING_REPOSITORY) ? image : this.registry.qualify(image),
    );
  }

  private async push(image: string, qualified: string): Promise<void> {
    const started = performance.now();
    await pushImage(this.docker, qualified);
    this.observe('push', (performance.now() - started) / 1000);
    this.committed.add(splitImageTemplate(image).repo);
  }

  destroy(handle: ContainerHandle | string): Promise<void> {
    return this.inner.destroy(handle);
  }

  pruneImages(): Promise<number> {
    return this.inner.pruneImages();
  }

  listManaged(instance?: string): Promise<ManagedContainer[]> {
    return this.inner.listManaged(instance);
  }

  // Caches stay on their engine (docs/scale-out.md): the registry carries images only.
  createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    return this.inner.createVolume(name, labels);
  }

  hasVolume(name: string): Promise<boolean> {
    return this.inner.hasVolume(name);
  }

  /** `image` is a base image or a committed one: the registry's copy for committed ones, as in `start`. */
  async copyVolume(from: string, to: string, image: string, options?: CopyVolumeOptions): Promise<void> {
    if (!this.isCommitted(image)) return this.inner.copyVolume(from, to, image, options);
    await this.pullIfStale(image);
    return this.inner.copyVolume(from, to, this.registry.qualify(image), options);
  }

  listVolumes(): Promise<VolumeUsage[]> {
    return this.inner.listVolumes();
  }

  removeVolume(name: string): Promise<boolean> {
    return this.inner.removeVolume(name);
  }
}
