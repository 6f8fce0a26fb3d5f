/**
 * An in-memory Executor for fast scheduler and pipeline tests; left out of the production build
 * (tsconfig.build.json). It understands a tiny shell: commands joined by `&&` or `;`, each one of
 * `echo TEXT`, `echo TEXT > PATH`, `cat PATH`, `pwd`, `sleep SECONDS`, `exit N`, `true`, `false`,
 * relative paths taken from the working directory. Files live in memory, per container; a tar put
 * in keeps its entries' types (symlinks, FIFOs, devices), so copyFileOut meets what a build can
 * leave. Where the pipeline relies on the engine's behaviour, the fake has it too, each case in
 * test/integration/executor.contract.ts: the working directory, `destroy` ending a running exec,
 * `listManaged` seeing only this instance's containers, `putArchive` refusing a missing directory,
 * `commit` returning an image id that `start` takes, exec refused by a container that is not
 * running, the first step run once. Cache volumes are kept in memory too; a path
 * under a cache mount is read from and written to its volume (a write to a read-only one fails as
 * on a read-only file system).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import {
  ExecutorUnavailable,
  FileRefused,
  SourceNotUnpacked,
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

/** One path in a fake container: its tar header (type, mode, link target) and its content. */
interface FakeEntry {
  header: Partial<Header> & { name: string };
  content: Buffer;
}

type FakeFiles = Map<string, FakeEntry>;

interface FakeVolume {
  labels: Record<string, string>;
  /** Content by path inside the volume (`/x` for a file at `<mount>/x`). */
  files: FakeFiles;
  createdAt: string;
}

interface FakeContainer {
  spec: ContainerSpec;
  instance: string;
  files: FakeFiles;
  /** Aborted by `destroy`: a command still running ends, as when the engine removes a container. */
  removed: AbortController;
  /** As on the engine: exec needs `running`; `runFirstStep` needs `created` and leaves `stopped`. */
  state: 'created' | 'running' | 'stopped';
}

/** Directories of the test image (busybox) that exist before anything is put in. */
const IMAGE_DIRECTORIES = ['/bin', '/dev', '/etc', '/home', '/proc', '/root', '/sys', '/tmp', '/usr', '/var'];

const regularFile = (name: string, content: Buffer): FakeEntry => ({
  header: { name, type: 'file', mode: 0o644, size: content.length },
  content,
});

export class FakeExecutor implements Executor {
  /** Shared with the executors made by `onSameEngine`, as an engine is shared by two services. */
  readonly images: Map<string, FakeFiles>;
  readonly containers: Map<string, FakeContainer>;
  private readonly imagesById: Map<string, FakeFiles>;
  private readonly counter: { next: number };
  readonly volumes = new Map<string, FakeVolume>();
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
      if (handle.sourceOnStdin) {
        // As on the engine: the whole archive is unpacked at `/` before anything of the step runs.
        if (!options.source) throw new Error('runFirstStep: the source is required on stdin');
        if (options.signal?.aborted) return 137;
        const aborted = new Promise<null>((resolve) => {
          if (options.signal?.aborted) resolve(null);
          options.signal?.addEventListener('abort', () => resolve(null), { once: true });
        });
        const archive = await Promise.race([options.source(), aborted]);
        if (!archive || options.signal?.aborted) {
          archive?.tar.destroy();
          return 137;
        }
        // A source stream that fails is the build's error; an archive tar cannot read is not step 1's.
        let failed: Error | null = null;
        archive.tar.once('error', (error) => (failed = error));
        try {
          await this.putArchive(handle, '/', archive.tar);
        } catch (error) {
          if (failed) throw failed;
          throw new SourceNotUnpacked(
            'failed',
            `the source could not be unpacked: ${(error as Error).message}`,
          );
        }
      }
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

  /** Whether `dir` is a directory in the container: the engine refuses to extract into one that is not. */
  private isDirectory(container: FakeContainer, dir: string): boolean {
    const path = posix.resolve('/', dir);
    if (path === '/' || IMAGE_DIRECTORIES.includes(path)) return true;
    if (path === container.spec.workingDir || (container.spec.volumes ?? []).includes(path)) return true;
    if (container.files.get(path)?.header.type === 'directory') return true;
    return [...container.files.keys()].some((file) => file.startsWith(`${path}/`));
  }

  async putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    const container = this.container(handle);
    if (!this.isDirectory(container, path)) {
      tar.destroy();
      throw new Error(`Could not find the file ${path} in container ${handle.id}`);
    }
    const unpack = extract();
    unpack.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const at = posix.join(path, header.name).replace(/(.)\/+$/, '$1');
        container.files.set(at, { header: { ...header }, content: Buffer.concat(chunks) });
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      unpack.on('finish', resolve);
      unpack.on('error', reject);
      tar.on('error', reject);
      tar.pipe(unpack);
    });
  }

  /** The cache volume `path` lies in, and the path inside it; null when in the container's own files. */
  private cacheAt(container: FakeContainer, path: string) {
    for (const cache of container.spec.caches ?? []) {
      if (path !== cache.target && !path.startsWith(`${cache.target}/`)) continue;
      const volume = this.volumes.get(cache.volume);
      if (volume) return { volume, inner: path.slice(cache.target.length) || '/', readOnly: cache.readOnly };
    }
    return null;
  }

  /** False when the path is on a read-only cache. */
  private write(container: FakeContainer, path: string, content: Buffer): boolean {
    const cache = this.cacheAt(container, path);
    if (cache?.readOnly) return false;
    (cache?.volume.files ?? container.files).set(
      cache?.inner ?? path,
      regularFile(posix.basename(path), content),
    );
    return true;
  }

  private read(container: FakeContainer, path: string): Buffer | null {
    const resolved = this.resolve(container, path) ?? '';
    const cache = this.cacheAt(container, resolved);
    const entry = cache ? cache.volume.files.get(cache.inner) : container.files.get(resolved);
    return entry?.header.type === 'file' ? entry.content : null;
  }

  /** Follows symlinks in the parent directories inside the container, as the engine does. */
  private resolve(container: FakeContainer, path: string): string | null {
    let parts = posix.normalize(path).split('/').filter(Boolean);
    for (let hops = 0, i = 0; i < parts.length - 1; i++) {
      const entry = container.files.get(`/${parts.slice(0, i + 1).join('/')}`);
      if (entry?.header.type !== 'symlink') continue;
      if (++hops > 40) return null;
      const target = entry.header.linkname ?? '';
      const base = target.startsWith('/') ? target : posix.join('/', ...parts.slice(0, i), target);
      parts = posix
        .normalize(posix.join(base, ...parts.slice(i + 1)))
        .split('/')
        .filter(Boolean);
      i = -1;
    }
    return `/${parts.join('/')}`;
  }

  async copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    const container = this.container(handle);
    const resolved = this.resolve(container, path);
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
    const at = (path: string) => posix.resolve(cwd, path);
    const signal = AbortSignal.any([container.removed.signal, ...(options.signal ? [options.signal] : [])]);
    const ended = () => {
      if (container.removed.signal.aborted) throw new Error(`No such container: ${handle.id}`);
      return 137;
    };
    const expand = (text: string) =>
      text.replace(/"?\$([A-Z_][A-Z0-9_]*)"?/g, (_, name: string) => env[name] ?? '');
    for (const part of command.split(/\s*(?:&&|;)\s*/)) {
      if (signal.aborted) return ended();
      let match: RegExpExecArray | null;
      if ((match = /^echo (.*) > (\S+)$/.exec(part))) {
        if (!this.write(container, at(match[2]!), Buffer.from(`${expand(match[1]!)}\n`))) {
          options.onOutput(Buffer.from(`sh: can't create ${match[2]}: Read-only file system\n`), 'stderr');
          return 1;
        }
      } else if (part === 'pwd') options.onOutput(Buffer.from(`${cwd}\n`), 'stdout');
      else if ((match = /^echo ?(.*)$/.exec(part)))
        options.onOutput(Buffer.from(`${expand(match[1]!)}\n`), 'stdout');
      else if ((match = /^cat (\S+)$/.exec(part))) {
        const content = this.read(container, at(match[1]!));
        if (!content) {
          options.onOutput(
            Buffer.from(`cat: can't open '${match[1]}': No such file or directory\n`),
            'stderr',
          );
          return 1;
        }
        options.onOutput(content, 'stdout');
      } else if ((match = /^sleep ([\d.]+)$/.exec(part))) {
        const ms = Number(match[1]) * 1000;
        const aborted = await new Promise<boolean>((resolve) => {
          const onAbort = () => {
            clearTimeout(timer);
            resolve(true);
          };
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve(false);
          }, ms);
          signal.addEventListener('abort', onAbort, { once: true });
        });
        if (aborted) return ended();
      } else if ((match = /^exit (\d+)$/.exec(part))) return Number(match[1]);
      else if (part === 'false') return 1;
      else if (part !== 'true' && part !== '') {
        options.onOutput(Buffer.from(`sh: ${part.split(' ')[0]}: not found\n`), 'stderr');
        return 127;
      }
    }
    return 0;
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

  async createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    await this.ping();
    if (this.volumes.has(name)) return false;
    this.volumes.set(name, { labels: { ...labels }, files: new Map(), createdAt: new Date().toISOString() });
    return true;
  }

  async hasVolume(name: string): Promise<boolean> {
    await this.ping();
    return this.volumes.has(name);
  }

  async copyVolume(from: string, to: string, image: string): Promise<void> {
    await this.ping();
    const source = this.volumes.get(from);
    const target = this.volumes.get(to);
    if (!source || !target) throw new Error(`No such volume: ${source ? to : from}`);
    if (!this.images.has(image)) throw new Error(`No such image: ${image}`);
    for (const [path, entry] of source.files) target.files.set(path, { ...entry });
  }

  private mounts(name: string): number {
    return [...this.containers.values()].filter((c) => c.spec.caches?.some((m) => m.volume === name)).length;
  }

  async listVolumes(): Promise<VolumeUsage[]> {
    await this.ping();
    return [...this.volumes].map(([name, volume]) => ({
      name,
      labels: { ...volume.labels },
      sizeBytes: [...volume.files.values()].reduce((sum, entry) => sum + entry.content.length, 0),
      refCount: this.mounts(name),
      createdAt: volume.createdAt,
    }));
  }

  async removeVolume(name: string): Promise<boolean> {
    await this.ping();
    if (this.mounts(name) > 0) return false;
    this.volumes.delete(name);
    return true;
  }
}
