/**
 * Files into and out of a container on a Docker engine (the Executor's `putArchive` and
 * `copyFileOut`): both under an idle deadline, renewed as the bytes move, so a large tree or file
 * may take long while a wedged engine fails the call. A file out is the engine's archive of
 * `path`, checked entry by entry (read-file-entry.ts).
 */
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { FileRefused, type CopyOutOptions } from '../executor.js';
import { ArchiveEnded, readFileEntry } from '../read-file-entry.js';
import { idleDeadline, statusOf } from './engine-timeout.js';

/** A tar archive unpacked at `path` in the container. */
export async function putArchive(
  container: Docker.Container,
  path: string,
  tar: Readable,
  idleMs: number,
): Promise<void> {
  // An idle deadline, renewed as the archive moves: a large tree may take long, a wedged engine
  // (one that stops reading, or never answers once it has read all) fails the build.
  const deadline = idleDeadline('put archive', idleMs);
  // Each chunk read renews the deadline (the request takes only what the engine reads).
  const body = Readable.from(
    (async function* () {
      for await (const chunk of tar) {
        deadline.progress();
        yield chunk as Buffer;
      }
    })(),
  );
  try {
    await container.putArchive(body, { path, abortSignal: deadline.signal });
  } catch (error) {
    throw deadline.timedOut() ?? error;
  } finally {
    deadline.clear();
    body.destroy();
    tar.destroy();
  }
}

/**
 * The file at `path` in the container, written to `destination` (one regular file, bounded). An
 * archive that ends before its first entry (the engine's stream cut short) is asked for once more:
 * the copy only reads.
 */
export async function copyFileOut(
  container: Docker.Container,
  path: string,
  destination: string,
  options: CopyOutOptions,
  idleMs: number,
): Promise<{ bytes: number }> {
  try {
    return await copyOnce(container, path, destination, options, idleMs);
  } catch (error) {
    if (!(error instanceof ArchiveEnded) || options.signal?.aborted) throw error;
    return copyOnce(container, path, destination, options, idleMs);
  }
}

async function copyOnce(
  container: Docker.Container,
  path: string,
  destination: string,
  options: CopyOutOptions,
  idleMs: number,
): Promise<{ bytes: number }> {
  const deadline = idleDeadline(`copying ${path}`, idleMs, options.signal);
  try {
    let archive: Readable;
    try {
      // The engine resolves `path` in the container's root and sends a symlink as a symlink.
      archive = (await container.getArchive({ path, abortSignal: deadline.signal })) as Readable;
    } catch (error) {
      if (statusOf(error) === 404 && /could not find the file/i.test((error as Error).message))
        throw new FileRefused('missing', path);
      throw deadline.timedOut() ?? error;
    }
    deadline.progress();
    // Aborting the request alone may leave a response stream that never ends: end it too.
    const onAbort = () => archive.destroy(deadline.timedOut() ?? new Error('copy aborted'));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await readFileEntry(archive, path, destination, {
        maxBytes: options.maxBytes,
        signal: deadline.signal,
        onData: deadline.progress,
      });
    } catch (error) {
      throw deadline.timedOut() ?? error;
    } finally {
      deadline.signal.removeEventListener('abort', onAbort);
    }
  } finally {
    deadline.clear();
  }
}
