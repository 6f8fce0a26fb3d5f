/**
 * An in-memory Executor for fast scheduler and pipeline tests. It understands a tiny shell:
 * commands joined by `&&` or `;`, each one of `echo TEXT`, `echo TEXT > PATH`, `cat PATH`,
 * `sleep SECONDS`, `exit N`, `true`, `false`. Paths under a bind go to the real host directory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import {
  ExecutorUnavailable,
  type ContainerHandle,
  type ContainerSpec,
  type ExecOptions,
  type Executor,
  type ManagedContainer,
} from '../executor.js';

interface FakeContainer {
  spec: ContainerSpec;
  files: Map<string, Buffer>;
  killed: boolean;
}

export class FakeExecutor implements Executor {
  readonly images = new Map<string, Map<string, Buffer>>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every command exec'd, in order, for assertions. */
  readonly executed: { buildId: number; command: string }[] = [];
  available = true;
  private nextId = 1;

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
        if (header.type === 'file') container.files.set(posix.join(path, header.name), Buffer.concat(chunks));
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

  private hostPath(container: FakeContainer, path: string): string | null {
    for (const bind of container.spec.binds) {
      if (path.startsWith(`${bind.containerPath}/`))
        return join(bind.hostPath, path.slice(bind.containerPath.length + 1));
    }
    return null;
  }

  private write(container: FakeContainer, path: string, content: Buffer): void {
    const host = this.hostPath(container, path);
    if (host) {
      mkdirSync(dirname(host), { recursive: true });
      writeFileSync(host, content);
    } else container.files.set(path, content);
  }

  private read(container: FakeContainer, path: string): Buffer | null {
    const host = this.hostPath(container, path);
    if (host) return existsSync(host) ? readFileSync(host) : null;
    return container.files.get(path) ?? null;
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
  ): Promise<{ imageId: string; replaced: string | null }> {
    const replaced = this.images.has(image) ? image : null;
    this.images.set(image, new Map(this.container(handle).files));
    return { imageId: `sha256:fake-${this.nextId++}`, replaced };
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

  async listManaged(): Promise<ManagedContainer[]> {
    return [...this.containers.entries()].map(([id, c]) => ({ id, buildId: c.spec.buildId }));
  }
}
