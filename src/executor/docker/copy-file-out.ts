/**
 * One file out of a container (the Executor's `copyFileOut` on a Docker engine): the engine's
 * archive of `path`, read under an idle deadline and checked entry by entry (read-file-entry.ts).
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { FileRefused, type CopyOutOptions } from '../executor.js';
import { readFileEntry } from '../read-file-entry.js';
import { idleDeadline } from './engine-timeout.js';

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

export async function copyFileOut(
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
