/**
 * One service process per SQLite database. Two processes on one file would each schedule the
 * same queue and each mark the other's running builds interrupted at start; several replicas
 * need PostgreSQL (docs/scale-out.md). The second process refuses to start.
 *
 * The lock is SQLite's own: a connection to a sidecar file `<db>.lock` in exclusive locking mode
 * that has written once keeps its exclusive lock until it closes. Under it are POSIX fcntl locks,
 * which the kernel drops when the process ends however it ends, so a `kill -9` never leaves a
 * stale lock (a pid file would). better-sqlite3 is already a dependency; a native flock binding
 * would be one more. A sidecar rather than the database itself: the database stays readable by
 * an operator's sqlite3, a backup or `autobuilder gc` while the service runs.
 *
 * POSIX locks belong to the process, so a second lock on the same file in this process would not
 * conflict at the OS level (SQLite refuses it, but an in-process restart must not be refused):
 * locks held here are counted and shared.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../errors.js';

interface Held {
  db: Database.Database;
  count: number;
}

const held = new Map<string, Held>();

export interface SqliteLock {
  readonly path: string;
  release(): void;
}

/** Takes the lock for database file `dbPath` or throws a CONFLICT naming the file. */
export function lockSqliteDatabase(dbPath: string): SqliteLock {
  const path = `${dbPath}.lock`;
  let entry = held.get(path);
  if (!entry) {
    // Before the store opens the database (which makes its directory too).
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
      // The write takes the exclusive lock; in exclusive locking mode it is kept after the commit.
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
      db.exec('DELETE FROM holder WHERE rowid < (SELECT max(rowid) FROM holder)');
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new AppError(
          'CONFLICT',
          `the SQLite database ${dbPath} is in use by another autobuilder process (lock ${path}): ` +
            'SQLite allows one service process; to run several replicas use PostgreSQL (database_url: postgres://…, docs/scale-out.md)',
        );
      }
      throw error;
    }
    entry = { db, count: 0 };
    held.set(path, entry);
  }
  entry.count += 1;
  const taken = entry;
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      taken.count -= 1;
      if (taken.count > 0) return;
      held.delete(path);
      taken.db.close();
    },
  };
}
