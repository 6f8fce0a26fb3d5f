/**
 * An in-memory Executor for fast scheduler and pipeline tests; left out of the production build
 * (tsconfig.build.json). Its commands run in a tiny shell (fake-shell.ts) over files kept in
 * memory per container (fake-files.ts: a tar put in keeps its entries' types, so copyFileOut
 * meets what a build can leave) and cache volumes (fake-volumes.ts). Where the pipeline relies on
 * the engine's behaviour, the fake has it too, each case in test/integration/executor.contract.ts:
 * the working directory, `destroy` ending a running exec, `listManaged` seeing only this
 * instance's containers, `putArchive` refusing a missing directory, `commit` returning an image id
 * that `start` takes, exec refused by a container that is not running, the first step run once.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import {
  ExecutorUnavailable,
  FileRefused,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type RunOptions,
  type Executor,
  type ManagedContainer,
  type VolumeUsage,
} from '../executor.js';
import { readFileEntry } from '../read-file-entry.js';
import { runFakeShell } from './fake-shell.js';
import { FakeVolumes } from './fake-volumes.js';
import {
  extractInto,
  unpackSource,
  isDirectory,
  readFile,
  resolvePath,
  writeFile,
  type FakeContainer,
  type FakeFiles,
  type FakeVolume,
} from './fake-files.js';

export class FakeExecutor implements Executor {
  /** Shared with the executors made by `onSameEngine`, as an engine is shared by two services. */
  readonly images: Map<string, FakeFiles>;
  readonly containers: Map<string, FakeContainer>;
  private readonly imagesById: Map<string, FakeFiles>;
  private readonly counter: { next: number };
  readonly volumes = new Map<string, FakeVolume>();
  private readonly volumeStore = new FakeVolumes(this.volumes, {
    containers: () => this.containers.values(),
    hasImage: (image) => this.images.has(image),
    ping: () => this.ping(),
  });
  /** Every command exec'd, in order, for assertions. */
  readonly executed: { buildId: number; command: string }[] = [];
  available = true;
  /** How long a commit takes (tests of a build stopped while it commits). */
  commitDelayMs = 0;
  /** Names commits were asked for, and when each landed (a test can wait for the engine's end). */
  readonly commitStarted: string[] = [];
  readonly commitsLanded: Promise<void>[] = [];

  constructor(
    images: string[] = ['fake/base:latest'],
    /** This service's instance (the Docker executor's INSTANCE_LABEL). */
    readonly instance = 'default',
    engine?: FakeExecutor,
  ) {
    this.images = engine?.images ?? new Map(images.map((image) => [image, new Map()]));
    this.containers = engine?.containers ?? new Map();
    this.imagesById = engine?.imagesById ?? new Map();
    this.counter = engine?.counter ?? { next: 1 };
  }

  /** Another service's executor on the engine `other` uses: same images and containers. */
  static onSameEngine(other: FakeExecutor, instance: string): FakeExecutor {
    return new FakeExecutor([], instance, other);
  }

  private nextId(): number {
    return this.counter.next++;
  }

  async ping(): Promise<void> {
    if (!this.available) throw new ExecutorUnavailable('fake engine is down');
  }

  async ensureImage(image: string): Promise<boolean> {
    await this.ping();
    return this.images.has(image);
  }

  async listTags(repo: string): Promise<string[]> {
    return [...this.images.keys()]
      .filter((i) => i.startsWith(`${repo}:`))
      .map((i) => i.slice(repo.length + 1));
  }

  async create(spec: ContainerSpec): Promise<ContainerHandle> {
    await this.ping();
    const image = this.images.get(spec.image) ?? this.imagesById.get(spec.image);
    if (!image) throw new Error(`No such image: ${spec.image}`);
    const id = `fake-${this.nextId()}`;
    this.containers.set(id, {
      spec,
      instance: this.instance,
      files: new Map(image),
      removed: new AbortController(),
      state: 'created',
    });
    return { id, buildId: spec.buildId, sourceOnStdin: spec.firstStep?.sourceOnStdin === true };
  }

  async resume(handle: ContainerHandle): Promise<void> {
    await this.ping();
    this.container(handle).state = 'running';
  }

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    const handle = await this.create(spec);
    await this.resume(handle);
    return handle;
  }

  /** The first step goes through `exec` (recorded in `executed`, and what a subclass makes of it). */
  async runFirstStep(handle: ContainerHandle, options: RunOptions): Promise<number> {
    const container = this.container(handle);
    const step = container.spec.firstStep;
    if (!step) throw new Error(`container ${handle.id} has no first step`);
    if (container.state !== 'created') throw new Error(`container ${handle.id} was started before`);
    container.state = 'running';
    try {
      // As on the engine: the whole archive is unpacked at `/` before anything of the step runs.
      const put = (tar: Readable) => this.putArchive(handle, '/', tar);
      if (handle.sourceOnStdin && !(await unpackSource(put, options))) return 137;
      return await this.exec(handle, step.command, { ...options, workingDir: step.workingDir });
    } finally {
      container.state = 'stopped';
    }
  }

  private container(handle: ContainerHandle): FakeContainer {
    const container = this.containers.get(handle.id);
    if (!container) throw new Error(`No such container: ${handle.id}`);
    return container;
  }

  async putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    const container = this.container(handle);
    if (!isDirectory(container, path)) {
      tar.destroy();
      throw new Error(`Could not find the file ${path} in container ${handle.id}`);
    }
    await extractInto(container.files, path, tar);
  }

  async copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    const container = this.container(handle);
    const resolved = resolvePath(container, path);
    const entry = resolved ? container.files.get(resolved) : undefined;
    if (!entry) throw new FileRefused('missing', path);
    const archive = pack();
    archive.entry({ ...entry.header, name: posix.basename(path), size: entry.content.length }, entry.content);
    archive.finalize();
    return readFileEntry(archive as unknown as Readable, path, destination, options);
  }

  async exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    const container = this.container(handle);
    if (container.state !== 'running') throw new Error(`Container ${handle.id} is not running`);
    this.executed.push({ buildId: handle.buildId, command });
    const env = { ...container.spec.env, ...options.env };
    const cwd = options.workingDir ?? container.spec.workingDir ?? '/';
    const signal = AbortSignal.any([container.removed.signal, ...(options.signal ? [options.signal] : [])]);
    const ended = () => {
      if (container.removed.signal.aborted) throw new Error(`No such container: ${handle.id}`);
      return 137;
    };
    return runFakeShell(command, {
      env,
      cwd,
      signal,
      onOutput: options.onOutput,
      ended,
      write: (path, content) => writeFile(this.volumes, container, path, content),
      read: (path) => readFile(this.volumes, container, path),
    });
  }

  async commit(
    handle: ContainerHandle,
    image: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ imageId: string; replaced: string | null }> {
    const { spec, files } = this.container(handle);
    // Volumes are not committed, as on the engine.
    const inVolume = (path: string) =>
      (spec.volumes ?? []).some((v) => path === v || path.startsWith(`${v}/`));
    const snapshot: FakeFiles = new Map([...files].filter(([path]) => !inVolume(path)));
    const replaced = this.images.has(image) ? image : null;
    const imageId = `sha256:${createHash('sha256').update(`fake-image-${this.nextId()}`).digest('hex')}`;
    this.imagesById.set(imageId, snapshot);
    this.commitStarted.push(image);
    if (this.commitDelayMs === 0) {
      this.images.set(image, snapshot);
      return { imageId, replaced };
    }
    // Like the engine: a commit goes on to the end even when its caller stops waiting for it.
    const landed = new Promise<void>((resolve) =>
      setTimeout(() => {
        this.images.set(image, snapshot);
        resolve();
      }, this.commitDelayMs),
    );
    this.commitsLanded.push(landed);
    const signal = options.signal;
    if (signal) {
      await Promise.race([
        landed,
        new Promise<never>((_, reject) => {
          if (signal.aborted) reject(new Error('commit aborted'));
          signal.addEventListener('abort', () => reject(new Error('commit aborted')), { once: true });
        }),
      ]);
    } else await landed;
    return { imageId, replaced };
  }

  async retag(from: string, image: string): Promise<{ replaced: string | null }> {
    const files = this.images.get(from);
    if (!files) {
      if (this.images.has(image)) return { replaced: null };
      throw new Error(`image ${from} not found`);
    }
    const replaced = this.images.has(image) ? image : null;
    this.images.set(image, files);
    this.images.delete(from);
    return { replaced };
  }

  async removeImage(image: string): Promise<void> {
    this.images.delete(image);
  }

  async destroy(handle: ContainerHandle | string): Promise<void> {
    const id = typeof handle === 'string' ? handle : handle.id;
    this.containers.get(id)?.removed.abort();
    this.containers.delete(id);
  }

  async pruneImages(): Promise<number> {
    return 0;
  }

  /**
   * Containers of this instance, or of `instance` (another service sharing the engine, made by
   * `onSameEngine`): as Docker lists them by the instance label.
   */
  async listManaged(instance: string = this.instance): Promise<ManagedContainer[]> {
    return [...this.containers.entries()]
      .filter(([, c]) => c.instance === instance)
      .map(([id, c]) => ({ id, buildId: c.spec.buildId }));
  }

  // Cache volumes (fake-volumes.ts).
  createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    return this.volumeStore.create(name, labels);
  }
  hasVolume(name: string): Promise<boolean> {
    return this.volumeStore.has(name);
  }
  copyVolume(from: string, to: string, image: string): Promise<void> {
    return this.volumeStore.copy(from, to, image);
  }
  listVolumes(): Promise<VolumeUsage[]> {
    return this.volumeStore.list();
  }
  removeVolume(name: string): Promise<boolean> {
    return this.volumeStore.remove(name);
  }
}
