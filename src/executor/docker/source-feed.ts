/**
 * Writing the source to step 1's stdin (the attach stream of a container that already runs), and
 * reading the note its unpacking left. See container-config.ts for the other end.
 */
import { once } from 'node:events';
import type { Duplex, Readable } from 'node:stream';
import { extract } from 'tar-stream';
import type Docker from 'dockerode';
import type { SourceArchive } from '../executor.js';
import { SOURCE_NOTE } from './container-config.js';
import { idleDeadline, statusOf } from './engine-timeout.js';

/**
 * Waits for `source` (the commit being fetched), then writes its length line and archive into
 * `stream`. Resolves with the error that ends the build (the source failed, or was shorter than
 * it said: the container is killed then, as its tar would wait for the rest), or null. Once `read`
 * (the step's output) has ended nothing more is written: the process is gone or cancelled.
 * The stream is never half-closed: the unpacking ends at the announced length.
 */
export async function feedSource(
  stream: Duplex,
  source: () => Promise<SourceArchive>,
  read: Promise<void>,
  kill: () => void,
): Promise<Error | null> {
  let ended = false;
  const done = read.then(
    () => void (ended = true),
    () => void (ended = true),
  );
  const got = source().then(
    (archive) => ({ archive }),
    (error: unknown) => ({ error: error as Error }),
  );
  const first = await Promise.race([got, done.then(() => null)]);
  if (first === null) {
    void got.then((late) => 'archive' in late && late.archive.tar.destroy()).catch(() => undefined);
    return null;
  }
  const fail = (error: Error) => {
    kill();
    stream.destroy();
    return error;
  };
  if ('error' in first) return fail(first.error);
  const { tar, bytes } = first.archive;
  let written = 0;
  try {
    stream.write(`${bytes}\n`);
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      if (ended) return null;
      written += chunk.length;
      if (written > bytes) break;
      if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), done]);
    }
  } catch (error) {
    if (ended) return null;
    return fail(error as Error);
  } finally {
    tar.destroy();
  }
  if (ended || written === bytes) return null;
  return fail(new Error(`the source archive was ${written} bytes, not the ${bytes} announced`));
}

/** The text of the first file in a tar stream, at most `maxBytes` of it. */
export async function firstEntryText(archive: Readable, maxBytes: number): Promise<string> {
  const unpack = extract();
  archive.pipe(unpack);
  try {
    for await (const entry of unpack) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        if (size < maxBytes) chunks.push(chunk);
        size += chunk.length;
      }
      return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
    }
    return '';
  } finally {
    archive.destroy();
    unpack.destroy();
  }
}

/** The first line of SOURCE_NOTE in a stopped container ('' when there is none), under a deadline. */
export async function readSourceNote(container: Docker.Container, timeoutMs: number): Promise<string> {
  const deadline = idleDeadline('reading the source note', timeoutMs);
  try {
    const archive = (await container.getArchive({
      path: SOURCE_NOTE,
      abortSignal: deadline.signal,
    })) as Readable;
    return (await firstEntryText(archive, 256)).split('\n')[0]!.trim();
  } catch (error) {
    if (statusOf(error) === 404) return '';
    throw deadline.timedOut() ?? error;
  } finally {
    deadline.clear();
  }
}
