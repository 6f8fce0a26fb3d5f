/**
 * Counts the commits in a SQLite WAL file by reading its frames (https://sqlite.org/fileformat.html,
 * "WAL File Format"): a frame whose "database size after commit" field is non-zero ends a
 * transaction. Frames left from before the WAL was restarted carry other salts and are skipped.
 * Read from the file, not asked of the store: it counts what SQLite really wrote.
 */
import { existsSync, readFileSync } from 'node:fs';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

export function walCommits(databasePath: string): number {
  const path = `${databasePath}-wal`;
  if (!existsSync(path)) return 0;
  const wal = readFileSync(path);
  if (wal.length < WAL_HEADER) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits += 1;
  }
  return commits;
}

/**
 * The frames of the WAL's current generation (its salts): what was written since it last started
 * over. `written(before)` is what was written since `before` was taken, across a restart.
 */
export function walFrames(databasePath: string): { salt: number; frames: number } {
  const path = `${databasePath}-wal`;
  if (!existsSync(path)) return { salt: 0, frames: 0 };
  const wal = readFileSync(path);
  if (wal.length < WAL_HEADER) return { salt: 0, frames: 0 };
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let frames = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    frames += 1;
  }
  return { salt: salt1, frames };
}

export function framesWritten(databasePath: string, before: { salt: number; frames: number }): number {
  const now = walFrames(databasePath);
  return now.salt === before.salt ? now.frames - before.frames : now.frames;
}
