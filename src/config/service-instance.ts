/**
 * A stable name for this service, kept in `data_directory/instance-id`. Containers carry it as a
 * label so that leftovers are removed only by the service that made them. It used to be derived
 * from the host name, which is the container id in the documented `docker run` deployment: a
 * redeploy then orphaned every container of the previous one. The file survives that.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.js';

export const INSTANCE_FILE = 'instance-id';
const VALID = /^[A-Za-z0-9_-]{8,64}$/;

/** The id a data directory held before the file existed: the first write keeps it, so the previous run's leftovers are still ours. */
function legacyInstance(dataDirectory: string): string {
  return createHash('sha256').update(`${hostname()}\0${dataDirectory}`).digest('hex').slice(0, 12);
}

export function serviceInstance(config: Pick<Config, 'dataDirectory'>): string {
  const file = join(config.dataDirectory, INSTANCE_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (VALID.test(stored)) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = legacyInstance(config.dataDirectory);
  mkdirSync(config.dataDirectory, { recursive: true });
  // Written whole under another name and renamed: a crash never leaves a half-written id.
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${id}\n`, { mode: 0o644 });
  renameSync(temporary, file);
  return id;
}
