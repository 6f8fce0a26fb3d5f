/**
 * An in-memory Executor for fast scheduler and pipeline tests. It understands a tiny shell:
 * commands joined by `&&` or `;`, each one of `echo TEXT`, `echo TEXT > PATH`, `cat PATH`,
 * `sleep SECONDS`, `exit N`, `true`, `false`. Files live in memory, per container; a tar put in
 * keeps its entries' types (symlinks, FIFOs, devices), so copyFileOut meets what a build can leave.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, pack, type Header } from 'tar-stream';
import {
  ExecutorUnavailable,
  FileRefused,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type Executor,
  type ManagedContainer,
} from '../executor.js';
import { readFileEntry } from '../read-file-entry.js';

/** One path in a fake container: its tar header (type, mode, link target) and its content. */
interface FakeEntry {
  header: Partial<Header> & { name: string };
  content: Buffer;
}

type FakeFiles = Map<string, FakeEntry>;

interface FakeContainer {
  spec: ContainerSpec;
  files: FakeFiles;
  killed: boolean;
}

const regularFile = (name: string, content: Buffer): FakeEntry => ({
  header: { name, type: 'file', mode: 0o644, size: content.length },
  content,
});

export class FakeExecutor implements Executor {
  readonly images = new Map<string, FakeFiles>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every command exec'd, in order, for assertions. */
  readonly executed: { buildId: number; command: string }[] = [];
  available = true;
  private nextId = 1;
  /** How long a commit takes (tests of a build stopped while it commits). */
  commitDelayMs = 0;
  /** Names commits were asked for, and when each landed (a test can wait for the engine's end). */
  readonly commitStarted: string[] = [];
  readonly commitsLanded: Promise<void>[] = [];

  constructor(images: string[] = ['fake/base:latest']) {
    for (const image of images) this.images.set(image, new Map());
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

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    await this.ping();
    const image = this.images.get(spec.image);
    if (!image) throw new Error(`No such image: ${spec.image}`);
    const id = `fake-${this.nextId++}`;
    this.containers.set(id, { spec, files: new Map(image), killed: false });
    return { id, buildId: spec.buildId };
  }

  private container(handle: ContainerHandle): FakeContainer {
    const container = this.containers.get(handle.id);
    if (!container) throw new Error(`No such container: ${handle.id}`);
    return container;
  }

  async putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    const container = this.container(handle);
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

  private write(container: FakeContainer, path: string, content: Buffer): void {
    container.files.set(path, regularFile(posix.basename(path), content));
  }

  private read(container: FakeContainer, path: string): Buffer | null {
    const entry = container.files.get(this.resolve(container, path) ?? '');
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
    this.executed.push({ buildId: handle.buildId, command });
    const env = { ...container.spec.env, ...options.env };
    const expand = (text: string) =>
      text.replace(/"?\$([A-Z_][A-Z0-9_]*)"?/g, (_, name: string) => env[name] ?? '');
    for (const part of command.split(/\s*(?:&&|;)\s*/)) {
      if (container.killed || options.signal?.aborted) return 137;
      let match: RegExpExecArray | null;
      if ((match = /^echo (.*) > (\S+)$/.exec(part)))
        this.write(container, match[2]!, Buffer.from(`${expand(match[1]!)}\n`));
      else if ((match = /^echo ?(.*)$/.exec(part)))
        options.onOutput(Buffer.from(`${expand(match[1]!)}\n`), 'stdout');
      else if ((match = /^cat (\S+)$/.exec(part))) {
        const content = this.read(container, match[1]!);
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
            options.signal?.removeEventListener('abort', onAbort);
            resolve(false);
          }, ms);
          options.signal?.addEventListener('abort', onAbort, { once: true });
        });
        if (aborted) return 137;
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
    const imageId = `sha256:fake-${this.nextId++}`;
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
    const container = this.containers.get(id);
    if (container) container.killed = true;
    this.containers.delete(id);
  }

  async pruneImages(): Promise<number> {
    return 0;
  }

  /** One fake is one engine of one process: every container is listed, whatever `instance`. */
  async listManaged(_instance?: string): Promise<ManagedContainer[]> {
    return [...this.containers.entries()].map(([id, c]) => ({ id, buildId: c.spec.buildId }));
  }
}
