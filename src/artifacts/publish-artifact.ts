/**
 * Publishing a kernel into KERNEL_TARGET: copied under a temporary name and renamed (readers see
 * the old file or the new one, never half of one), then the stable link swapped the same way.
 * The source is the service's own staging file (see pipeline/stage-artifact.ts), never a path a
 * build could have chosen. A published file is always mode 0644: never the mode the build gave it.
 */
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export const PUBLISHED_MODE = 0o644;

/** `.<name>.<12 hex>.tmp`: the only names this module leaves behind when killed mid-copy. */
const TEMPORARY = /^\..+\.[0-9a-f]{12}\.tmp$/;

function assertFileName(name: string): void {
  if (name !== basename(name) || name === '.' || name === '..' || name === '' || name.includes('\0')) {
    throw new Error(`refusing to publish under "${name}": not a plain file name`);
  }
}

const temporaryName = (targetDirectory: string, name: string) =>
  join(targetDirectory, `.${name}.${randomBytes(6).toString('hex')}.tmp`);

export interface PublishOptions {
  /** Stable name swapped to point at the new file. */
  link?: string;
  /** Aborting (build timeout or cancel) stops the copy; nothing is renamed then. */
  signal?: AbortSignal;
}

export async function publishArtifact(
  source: string,
  targetDirectory: string,
  name: string,
  options: PublishOptions = {},
): Promise<string> {
  const { link, signal } = options;
  assertFileName(name);
  if (link) assertFileName(link);
  await mkdir(targetDirectory, { recursive: true });
  const destination = join(targetDirectory, name);
  const temporary = temporaryName(targetDirectory, name);
  try {
    const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
    await pipeline(
      input.createReadStream(),
      createWriteStream(temporary, { flags: 'wx', mode: PUBLISHED_MODE }),
      { signal },
    );
    // The umask may have taken bits away; set the mode exactly.
    await chmod(temporary, PUBLISHED_MODE);
    signal?.throwIfAborted();
    await rename(temporary, destination);
  } finally {
    await rm(temporary, { force: true });
  }
  // The file is in place: the link follows without another abort check, so the two never disagree
  // because of a cancel arriving between them.
  if (link && link !== name) {
    const temporaryLink = temporaryName(targetDirectory, link);
    try {
      await symlink(name, temporaryLink);
      await rename(temporaryLink, join(targetDirectory, link));
    } finally {
      await rm(temporaryLink, { force: true });
    }
  }
  return destination;
}

/**
 * At start: temporary copies left by a service killed mid-publish (kill -9, power loss) go. Only
 * names of our own temporary pattern are touched; KERNEL_TARGET belongs to one service at a time.
 */
export async function removeStaleTemporaries(targetDirectory: string): Promise<string[]> {
  const entries = await readdir(targetDirectory, { withFileTypes: true }).catch(() => []);
  const stale = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && TEMPORARY.test(e.name))
    .map((e) => e.name);
  for (const name of stale) await rm(join(targetDirectory, name), { force: true });
  return stale;
}
