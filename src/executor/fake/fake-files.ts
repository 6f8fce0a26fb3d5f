/**
 * The fake engine's files (fake-executor.ts): a container's paths in memory with their tar
 * headers, the cache volumes mounted into it, and the engine's ways with them: symlinks in parent
 * directories followed, a write to a read-only cache refused, extraction only into a directory,
 * step 1's source on stdin unpacked at `/` before the step runs.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { SourceNotUnpacked, type ContainerSpec, type RunOptions } from '../executor.js';

/** One path in a fake container: its tar header (type, mode, link target) and its content. */
export interface FakeEntry {
  header: Partial<Header> & { name: string };
  content: Buffer;
}

export type FakeFiles = Map<string, FakeEntry>;

export interface FakeVolume {
  labels: Record<string, string>;
  /** Content by path inside the volume (`/x` for a file at `<mount>/x`). */
  files: FakeFiles;
  createdAt: string;
}

export interface FakeContainer {
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

export const regularFile = (name: string, content: Buffer): FakeEntry => ({
  header: { name, type: 'file', mode: 0o644, size: content.length },
  content,
});

/** The engine's volumes by name. */
export type Volumes = ReadonlyMap<string, FakeVolume>;

/** Whether `dir` is a directory in the container: the engine refuses to extract into one that is not. */
export function isDirectory(container: FakeContainer, dir: string): boolean {
  const path = posix.resolve('/', dir);
  if (path === '/' || IMAGE_DIRECTORIES.includes(path)) return true;
  if (path === container.spec.workingDir || (container.spec.volumes ?? []).includes(path)) return true;
  if (container.files.get(path)?.header.type === 'directory') return true;
  return [...container.files.keys()].some((file) => file.startsWith(`${path}/`));
}

/** The cache volume `path` lies in, and the path inside it; null when in the container's own files. */
export function cacheAt(volumes: Volumes, container: FakeContainer, path: string) {
  for (const cache of container.spec.caches ?? []) {
    if (path !== cache.target && !path.startsWith(`${cache.target}/`)) continue;
    const volume = volumes.get(cache.volume);
    if (volume) return { volume, inner: path.slice(cache.target.length) || '/', readOnly: cache.readOnly };
  }
  return null;
}

/** False when the path is on a read-only cache. */
export function writeFile(
  volumes: Volumes,
  container: FakeContainer,
  path: string,
  content: Buffer,
): boolean {
  const cache = cacheAt(volumes, container, path);
  if (cache?.readOnly) return false;
  (cache?.volume.files ?? container.files).set(
    cache?.inner ?? path,
    regularFile(posix.basename(path), content),
  );
  return true;
}

export function readFile(volumes: Volumes, container: FakeContainer, path: string): Buffer | null {
  const resolved = resolvePath(container, path) ?? '';
  const cache = cacheAt(volumes, container, resolved);
  const entry = cache ? cache.volume.files.get(cache.inner) : container.files.get(resolved);
  return entry?.header.type === 'file' ? entry.content : null;
}

/** Follows symlinks in the parent directories inside the container, as the engine does. */
export function resolvePath(container: FakeContainer, path: string): string | null {
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

/** Unpacks `tar` at `path` (a directory), every entry with its own header: the engine's putArchive. */
export async function extractInto(files: FakeFiles, path: string, tar: Readable): Promise<void> {
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const at = posix.join(path, header.name).replace(/(.)\/+$/, '$1');
      files.set(at, { header: { ...header }, content: Buffer.concat(chunks) });
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

/**
 * Step 1's source on stdin: the archive unpacked at `/`. False when the run was stopped before it
 * came (the step then ends as 137). A source stream that fails is the build's error; an archive
 * tar cannot read is not step 1's (SourceNotUnpacked).
 */
export async function unpackSource(
  /** The container's putArchive at `/`. */
  put: (tar: Readable) => Promise<void>,
  options: Pick<RunOptions, 'source' | 'signal'>,
): Promise<boolean> {
  if (!options.source) throw new Error('runFirstStep: the source is required on stdin');
  if (options.signal?.aborted) return false;
  const aborted = new Promise<null>((resolve) => {
    if (options.signal?.aborted) resolve(null);
    options.signal?.addEventListener('abort', () => resolve(null), { once: true });
  });
  const archive = await Promise.race([options.source(), aborted]);
  if (!archive || options.signal?.aborted) {
    archive?.tar.destroy();
    return false;
  }
  let failed: Error | null = null;
  archive.tar.once('error', (error) => (failed = error));
  try {
    await put(archive.tar);
  } catch (error) {
    if (failed) throw failed;
    throw new SourceNotUnpacked('failed', `the source could not be unpacked: ${(error as Error).message}`);
  }
  return true;
}
