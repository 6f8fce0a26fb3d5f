/**
 * Publishing a kernel into KERNEL_TARGET: copied under a temporary name and renamed (readers see
 * the old file or the new one, never half of one), then the stable link swapped the same way.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

function assertFileName(name: string): void {
  if (name !== basename(name) || name === '.' || name === '..' || name === '' || name.includes('\0')) {
    throw new Error(`refusing to publish under "${name}": not a plain file name`);
  }
}

export async function publishArtifact(
  source: string,
  targetDirectory: string,
  name: string,
  link?: string,
): Promise<string> {
  assertFileName(name);
  if (link) assertFileName(link);
  await mkdir(targetDirectory, { recursive: true });
  const destination = join(targetDirectory, name);
  const temporary = join(targetDirectory, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(source, temporary);
    await rename(temporary, destination);
  } finally {
    await rm(temporary, { force: true });
  }
  if (link && link !== name) {
    const temporaryLink = join(targetDirectory, `.${link}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await symlink(name, temporaryLink);
      await rename(temporaryLink, join(targetDirectory, link));
    } finally {
      await rm(temporaryLink, { force: true });
    }
  }
  return destination;
}
