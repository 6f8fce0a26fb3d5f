/**
 * WAL checkpoints off the event loop (store/sqlite/wal-checkpointer.ts): with SQLite's automatic
 * checkpoint turned off, the WAL still stays bounded under a stream of pushes, every push is in
 * the database, and a checkpoint worker that dies is replaced by checkpoints on the event loop.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild } from './store.contract.js';

/** ~7 KB of commit list, as a real push carries: each push writes several WAL pages. */
const commits = Array.from({ length: 20 }, (_, k) => ({
  sha: 'c'.repeat(40),
  message: `commit ${k} ${'m'.repeat(300)}`,
  author: 'Ann',
  url: 'https://example.com/c',
}));

async function push(store: SqliteStore, from: number, count: number, concurrency = 16): Promise<void> {
  for (let i = from; i < from + count; i += concurrency)
    await Promise.all(
      Array.from({ length: Math.min(concurrency, from + count - i) }, (_, k) =>
        store.createBuild(
          newBuild({
            deliveryId: `wal-${i + k}`,
            branch: `b${(i + k) % 50}`,
            commit: (i + k + 1).toString(16).padStart(40, '0'),
            commits,
          }),
        ),
      ),
    );
}

const walBytes = (path: string) => statSync(`${path}-wal`).size;
const builds = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM builds').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

it('keeps the WAL bounded with automatic checkpoints off, every push stored', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-wal-')), 'autobuilder.db');
  const store = await SqliteStore.open(path);
  try {
    await push(store, 0, 1500);
    // 1500 pushes wrote far more than this (each rewrites the superseded build's row too); without
    // checkpoints the WAL holds all of it (~40 MB here).
    assert.ok(walBytes(path) < 8 * 1024 * 1024, `WAL is ${walBytes(path)} bytes`);
    assert.ok(store.checkpointer!.count > 0);
    assert.equal(builds(path), 1500, 'a second connection sees every push');
  } finally {
    await store.close();
  }
  const reopened = await SqliteStore.open(path);
  try {
    assert.equal((await reopened.findDelivery('wal-1499'))?.outcome, 'build');
  } finally {
    await reopened.close();
  }
});

it('checkpoints on the event loop when the checkpoint worker is gone', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-wal-')), 'autobuilder.db');
  const store = await SqliteStore.open(path);
  try {
    const worker = (store.checkpointer as unknown as { worker: Worker }).worker;
    await worker.terminate();
    const before = store.checkpointer!.count;
    await push(store, 0, 1500);
    assert.ok(store.checkpointer!.count > before);
    assert.ok(walBytes(path) < 8 * 1024 * 1024, `WAL is ${walBytes(path)} bytes`);
    assert.equal(builds(path), 1500);
  } finally {
    await store.close();
  }
});
