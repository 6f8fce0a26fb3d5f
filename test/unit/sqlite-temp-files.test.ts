/**
 * A group commit runs each push in a savepoint (group-commit.ts); SQLite keeps what a savepoint
 * would undo in a statement journal, a temporary file once it passes 64 KiB, unless temp_store is
 * MEMORY, which the store sets for a group's transaction only (sqlite-store.ts). On a file, every
 * page a push touched was written once more (about 23 pwrite calls a push in the webhook
 * benchmark, more than its WAL frames) and a file was created and unlinked per group. Outside the
 * groups (a migration rewriting a table: 0011) the journal stays a file: in memory it would grow
 * with the database. A group whose switch is refused (SQLite's TEMP database open) journals on a
 * file, and the next is in memory again. Watched from outside, in SQLite's temporary directory.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';

it(
  'SQLite: a migration journals on a file, group commits of pushes in memory, repaired after a refusal',
  { timeout: 120_000 },
  async () => {
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
      assert.equal(
        stdout.trim(),
        '672 1 1 1',
        'every push was stored; each push to `oldN` superseded its 1000',
      );
      // Events arrive in order: once the last marker's is seen, every file's before it was seen too.
      const marked = once(watcher, 'change');
      writeFileSync(join(temp, 'end'), '');
      await marked;
      while (!seen.includes('end')) await once(watcher, 'change');
      for (const marker of ['seeded', 'migrated', 'checked', 'repaired'])
        assert.ok(seen.includes(marker), `no event for the marker ${marker}: ${seen.join(', ')}`);
      const journals = (from: string, to: string) =>
        seen.slice(seen.indexOf(from), seen.indexOf(to)).filter((name) => name.startsWith('etilqs_'));
      assert.ok(journals('seeded', 'migrated').length > 0, 'the migration journaled on a file');
      assert.deepEqual(journals('migrated', 'checked'), [], 'the group commits journaled in memory');
      assert.ok(
        journals('checked', 'repaired').length > 0,
        'with TEMP open, the switch was refused and the group journaled on a file',
      );
      assert.deepEqual(journals('repaired', 'end'), [], 'repaired after that group: in memory again');
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(temp, { recursive: true, force: true });
    }
  },
);
