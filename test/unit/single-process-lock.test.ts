/**
 * The SQLite single-process lock (src/store/sqlite/single-process-lock.ts): held per process
 * (a restart inside one process shares it), refused to another process with a CONFLICT naming
 * the file, and free for others once every holder here released it (a service's stop()).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import { lockSqliteDatabase } from '../../src/store/sqlite/single-process-lock.js';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'ab-lock-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** Tries the lock from another process; resolves with what it printed. */
async function otherProcess(database: string): Promise<string> {
  const code = `
    const { lockSqliteDatabase } = await import(${JSON.stringify(new URL('../../src/store/sqlite/single-process-lock.ts', import.meta.url).href)});
    try { lockSqliteDatabase(${JSON.stringify(database)}); console.log('taken'); }
    catch (error) { console.log(error.code + ': ' + error.message); }`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code]);
  return stdout.trim();
}

it('is shared inside a process, refused to another, and free once released', async () => {
  const database = join(home, 'sub', 'autobuilder.db');
  const first = lockSqliteDatabase(database);
  const second = lockSqliteDatabase(database);
  assert.equal(first.path, `${database}.lock`);

  const refused = await otherProcess(database);
  assert.match(refused, /^CONFLICT: the SQLite database .* is in use by another autobuilder process/);
  assert.ok(refused.includes(database));

  first.release();
  first.release(); // twice changes nothing: the second holder still has it
  assert.match(await otherProcess(database), /^CONFLICT/);
  second.release();
  assert.equal(await otherProcess(database), 'taken');
});
