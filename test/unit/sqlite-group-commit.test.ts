/**
 * Durable acknowledgement at line rate (issue 17): concurrent createBuild calls on SQLite share one
 * transaction and one fsync of the WAL (synchronous = FULL), and each still gets its own answer.
 * Commits are counted in the WAL file itself, fsyncs with strace on a child process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { walCommits } from '../helpers/wal-commits.js';
import { newBuild } from './store.contract.js';

describe('SQLite group commit', () => {
  let home: string;
  let path: string;
  let store: SqliteStore;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'ab-group-'));
    path = join(home, 'autobuilder.db');
    store = await SqliteStore.open(path);
  });
  after(async () => {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('stores concurrent builds in one commit, each with its own answer', async () => {
    const commits = walCommits(path);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => store.createBuild(newBuild({ branch: `g-${i}` }))),
      store.createBuild(newBuild({ branch: 'g-dup', deliveryId: 'group-dup' })),
      store.createBuild(newBuild({ branch: 'g-dup-again', deliveryId: 'group-dup' })),
    ]);
    assert.equal(walCommits(path) - commits, 1, 'one commit for twelve concurrent pushes');
    const made = results.slice(0, 11);
    assert.ok(made.every((r) => r.created));
    assert.equal(new Set(made.map((r) => r.build.id)).size, 11, 'each push its own build');
    for (const [i, r] of made.slice(0, 10).entries()) {
      assert.equal(r.build.branch, `g-${i}`);
      assert.deepEqual(await store.getBuild(r.build.id), r.build);
    }
    // The same delivery twice in one batch: the second answers the first's build.
    assert.equal(results[11]!.created, false);
    assert.equal(results[11]!.build.id, results[10]!.build.id);
    assert.equal((await store.findDelivery('group-dup'))?.buildId, results[10]!.build.id);
  });

  it('refuses one push of a batch alone (queue full) and stores the others', async () => {
    const queued = await store.countQueued();
    const limits = { perRepository: 1000, total: queued + 2 };
    const commits = walCommits(path);
    const results = await Promise.allSettled(
      ['q-1', 'q-2', 'q-3'].map((branch) =>
        store.createBuild(newBuild({ repository: 'acme/limits', branch, deliveryId: branch }), limits),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    assert.equal((results[2] as PromiseRejectedResult).reason.code, 'QUEUE_FULL');
    assert.equal(walCommits(path) - commits, 1);
    assert.equal(await store.countQueued(), queued + 2);
    assert.equal(await store.findDelivery('q-3'), null, 'the refused push left nothing');
    assert.equal(await store.latestForRef('acme/limits', 'branch', 'q-3'), null);
  });

  it('fails every push of a batch when the database refuses the write, and stores none', async () => {
    const queued = await store.countQueued();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // holds the write lock: the batch's first insert gets SQLITE_BUSY
    try {
      const results = await Promise.allSettled(
        ['busy-1', 'busy-2', 'busy-3', 'busy-4'].map((branch) =>
          store.createBuild(newBuild({ branch, deliveryId: branch })),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected', 'rejected', 'rejected'],
      );
      for (const r of results) assert.match(String((r as PromiseRejectedResult).reason), /locked|busy/i);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal(await store.countQueued(), queued);
    assert.equal(await store.findDelivery('busy-1'), null);
    // The next batch works.
    assert.equal((await store.createBuild(newBuild({ branch: 'after-busy' }))).created, true);
  });
});

it('fsyncs the WAL once for a batch of concurrent pushes (durable, grouped)', () => {
  const home = mkdtempSync(join(tmpdir(), 'ab-fsync-'));
  const trace = join(home, 'trace.txt');
  const [start, end] = [join(home, 'mark-start'), join(home, 'mark-end')];
  try {
    execFileSync(
      'strace',
      [
        '-f',
        '-y',
        '-e',
        'trace=fsync,fdatasync,openat',
        '-o',
        trace,
        process.execPath,
        '--import',
        'tsx',
      ].concat(['test/helpers/fsync-probe.ts', join(home, 'a.db'), start, end, '16']),
      { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 },
    );
    const lines = readFileSync(trace, 'utf8').split('\n');
    const from = lines.findIndex((l) => l.includes(start));
    const to = lines.findIndex((l) => l.includes(end));
    assert.ok(from >= 0 && to > from, 'both markers traced');
    const walSyncs = lines.slice(from, to).filter((l) => /f(data)?sync\(\d+<[^>]*a\.db-wal>/.test(l));
    // NORMAL would sync nothing here (only at checkpoints); one commit per push would sync 16 times.
    assert.ok(walSyncs.length >= 1 && walSyncs.length <= 2, `WAL fsyncs: ${walSyncs.length}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
