/**
 * Reads a SQLite WAL file's frames (https://sqlite.org/fileformat.html, "WAL File Format"): a
 * frame whose "database size after commit" field is non-zero ends a transaction. Frames left from
 * before the WAL was restarted carry other salts and are skipped. Read from the file, not asked of
 * the store: it counts what SQLite really wrote.
 */
import { existsSync, readFileSync } from 'node:fs';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** The WAL's current generation (its first salt) and, per frame, whether it ends a commit. */
function currentFrames(databasePath: string): { salt: number; commitEnds: boolean[] } {
  const path = `${databasePath}-wal`;
  if (!existsSync(path)) return { salt: 0, commitEnds: [] };
  const wal = readFileSync(path);
  if (wal.length < WAL_HEADER) return { salt: 0, commitEnds: [] };
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const commitEnds: boolean[] = [];
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    commitEnds.push(wal.readUInt32BE(at + 4) !== 0);
  }
  return { salt: salt1, commitEnds };
}

export function walCommits(databasePath: string): number {
  return currentFrames(databasePath).commitEnds.filter(Boolean).length;
}

/** The frames written since the WAL last started over (pages, one each). */
export function walFrames(databasePath: string): { salt: number; frames: number } {
  const { salt, commitEnds } = currentFrames(databasePath);
  return { salt, frames: commitEnds.length };
}

/** The frames written since `before` was taken, across a restart of the WAL. */
export function framesWritten(databasePath: string, before: { salt: number; frames: number }): number {
  const now = walFrames(databasePath);
  return now.salt === before.salt ? now.frames - before.frames : now.frames;
}
