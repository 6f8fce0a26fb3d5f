/**
 * A per-repository queue limit lowered under a long queue: the push that finds 33 000 builds
 * over the limit supersedes them all (queue-limits.ts, in slices). In one `IN (…)` list that
 * was more parameters than SQLite takes (32 766): the push failed, and so did every later push
 * to the repository. SQLite only: the queue is made with one statement, which PostgreSQL would
 * need 65 536 builds for; the code is the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild } from './store.contract.js';

const QUEUED = 33_000;

it('supersedes more queued builds at once than a statement takes parameters', async () => {
  const home = mkdtempSync(join(tmpdir(), 'ab-slices-'));
  const path = join(home, 'autobuilder.db');
  try {
    await (await SqliteStore.open(path)).close(); // migrated
    const raw = new Database(path);
    raw
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, steps, attempt, created_at)
         SELECT 'acme', 'acme/long', 'branch', 'q' || i, printf('%040x', i), 'full', 'queued', '[]', 1,
           '2026-01-01T00:00:00.000Z' FROM n`,
      )
      .run(QUEUED);
    raw.close();
    const store = await SqliteStore.open(path);
    try {
      const limits = { perRepository: 1, total: 1_000_000 };
      const { build, superseded } = await store.createBuild(
        newBuild({ repository: 'acme/long', branch: 'new' }),
        limits,
      );
      assert.equal(superseded.length, QUEUED, 'every older queued build left the queue');
      assert.equal(await store.countQueued(), 1);
      assert.equal((await store.getBuild(build.id))?.state, 'queued', 'the push is queued');
      const next = await store.createBuild(newBuild({ repository: 'acme/long', branch: 'next' }), limits);
      assert.deepEqual(
        next.superseded.map((b) => b.id),
        [build.id],
        'the next push works as usual',
      );
    } finally {
      await store.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
