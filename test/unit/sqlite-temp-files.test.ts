/**
 * A group commit runs each push in a savepoint (group-commit.ts); SQLite keeps what a savepoint
 * would undo in a statement journal, a temporary file once it passes 64 KiB, unless temp_store is
 * MEMORY (sqlite-store.ts). On a file, every page a push touched was written twice more (about 23
 * pwrite calls a push in the webhook benchmark, more than its WAL frames) and a file was created
 * and unlinked per group. Watched from outside: SQLite's temporary directory sees no file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';

it('SQLite: group commits of pushes create no temporary file (statement journals in memory)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ab-temp-files-'));
  const temp = mkdtempSync(join(tmpdir(), 'ab-sqlite-tmpdir-'));
  const seen: string[] = [];
  const watcher = watch(temp, (_event, name) => seen.push(String(name)));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/push-groups-child.ts', join(dir, 'autobuilder.db')],
      { env: { ...process.env, SQLITE_TMPDIR: temp } },
    );
    assert.equal(stdout.trim(), '640', 'every push was stored');
    // Events arrive in order: once the marker's is seen, any temporary file's was seen before it.
    const marked = once(watcher, 'change');
    writeFileSync(join(temp, 'marker'), '');
    await marked;
    while (!seen.includes('marker')) await once(watcher, 'change');
    assert.deepEqual(
      seen.filter((name) => name !== 'marker'),
      [],
      'SQLite created temporary files during the group commits',
    );
  } finally {
    watcher.close();
  }
});
