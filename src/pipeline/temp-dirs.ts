/**
 * The pipeline's temporary directories (one per build, `TEMP_PREFIX<id>-…` in tmp_directory, for
 * the artifact it stages) are the pipeline's to remove: each build removes its own when it ends,
 * and at start whatever a killed process left is removed here.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_PREFIX } from './pipeline.js';

/** Removes every build temp dir in `tmpDirectory`; returns their names. Call before builds start. */
export async function removeLeftoverTempDirs(tmpDirectory: string): Promise<string[]> {
  const entries = await readdir(tmpDirectory).catch(() => [] as string[]);
  const ours = entries.filter((entry) => entry.startsWith(TEMP_PREFIX));
  for (const entry of ours) await rm(join(tmpDirectory, entry), { recursive: true, force: true });
  return ours;
}
