/**
 * A group commit runs each push in a savepoint (group-commit.ts); SQLite keeps what a savepoint
 * would undo in a statement journal, a temporary file once it passes 64 KiB, unless temp_store is
 * MEMORY (sqlite-store.ts). On a file, every page a push touched was written twice more (about 23
 * pwrite calls a push in the webhook benchmark, more than its WAL frames) and a file was created
 * and unlinked per group. The migrations keep the file: a table rewritten by one (0011) would be
 * journaled in memory, in proportion to its size. Watched from outside, in SQLite's temporary
 * directory: files while migrating, none from the pushes after.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';

it('SQLite: migrations journal on a file, group commits of pushes in memory (no temporary file)', async () => {
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
    // Events arrive in order: once the last marker's is seen, every file's before it was seen too.
    const marked = once(watcher, 'change');
    writeFileSync(join(temp, 'end'), '');
    await marked;
    while (!seen.includes('end')) await once(watcher, 'change');
    const migrated = seen.indexOf('migrated');
    assert.ok(migrated > 0, `the migration made no temporary file (events: ${seen.join(', ')})`);
    assert.deepEqual(
      seen.slice(migrated).filter((name) => name !== 'migrated' && name !== 'end'),
      [],
      'SQLite created temporary files during the group commits',
    );
  } finally {
    watcher.close();
  }
});
