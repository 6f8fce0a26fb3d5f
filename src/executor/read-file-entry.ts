/**
 * Reads one path's archive (a tar stream whose first entry is that path itself) into a host file.
 * Both executors copy files out through it. The entry's header says what the build left: a
 * symlink arrives as a symlink entry, a FIFO or a device node as a header without data, so
 * nothing on the host is ever opened but `destination`, and nothing is read past `maxBytes`.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { FileRefused, type RefusedKind } from './executor.js';

/**
 * The archive ended before its first entry. Both executors answer a missing path themselves
 * (FileRefused `missing`) before reading, so this is the engine's stream cut short, never the
 * build's doing: not "artifact not found".
 */
export class ArchiveEnded extends Error {
  constructor(readonly path: string) {
    super(`the engine's archive of ${path} ended before its first entry`);
    this.name = 'ArchiveEnded';
  }
}

export interface ReadEntryOptions {
  maxBytes: number;
  signal?: AbortSignal;
  /** Called for every chunk read (the Docker executor's idle deadline listens). */
  onData?: () => void;
}

function refusal(header: Header, maxBytes: number): RefusedKind | null {
  switch (header.type) {
    case 'file':
      if (!header.size) return 'empty';
      return header.size > maxBytes ? 'too-large' : null;
    case 'symlink':
      return 'symlink';
    case 'fifo':
      return 'fifo';
    case 'character-device':
    case 'block-device':
      return 'device';
    case 'directory':
      return 'directory';
    default:
      return 'not-regular';
  }
}

export async function readFileEntry(
  archive: Readable,
  path: string,
  destination: string,
  options: ReadEntryOptions,
): Promise<{ bytes: number }> {
  const unpack = extract();
  archive.on('error', (error) => unpack.destroy(error));
  archive.pipe(unpack);
  let opened = false;
  try {
    for await (const entry of unpack) {
      const refused = refusal(entry.header, options.maxBytes);
      if (refused) throw new FileRefused(refused, path);
      let bytes = 0;
      // The header's size was checked; counting again costs nothing and does not trust it.
      const limit = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          options.onData?.();
          callback(bytes > options.maxBytes ? new FileRefused('too-large', path) : null, chunk);
        },
      });
      opened = true;
      const output = createWriteStream(destination, { flags: 'wx', mode: 0o600 });
      await pipeline(entry, limit, output, { signal: options.signal });
      if (bytes === 0) throw new FileRefused('empty', path);
      return { bytes };
    }
    throw new ArchiveEnded(path);
  } catch (error) {
    // `wx`: a file that was there before is never ours to remove; anything we began writing is.
    if (opened && (error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(destination, { force: true });
    throw error;
  } finally {
    // Stops reading from the engine: the rest of an oversized file, or of a directory, is never sent.
    unpack.destroy();
    archive.destroy();
  }
}
