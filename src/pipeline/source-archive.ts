/**
 * The source at the exact commit as a tar of known length (for step 1's stdin, see
 * executor.ts `FirstStep.sourceOnStdin`): `git archive` spooled to the build's own temp dir, so that
 * its length is known before the first byte goes out and memory stays flat for a large tree.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SourceArchive } from '../executor/executor.js';

export async function spoolArchive(archive: NodeJS.ReadableStream, tempDir: string): Promise<SourceArchive> {
  const path = join(tempDir, 'source.tar');
  await pipeline(archive, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  const { size } = await stat(path);
  return { tar: createReadStream(path), bytes: size };
}
