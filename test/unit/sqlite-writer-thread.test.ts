/**
 * SQLite's writer thread (store/sqlite/writer-thread.ts): createBuild runs on a connection of its
 * own in a worker thread, answers each call (rows, or the error with its code), and when the
 * thread is gone the store writes on its own connection: no call hangs, none is lost after.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild } from './store.contract.js';

const writerOf = (store: SqliteStore) =>
  (store as unknown as { writer: { running: boolean; worker: Worker | null } | null }).writer;

describe('SQLite writer thread', () => {
  let home: string;
  let store: SqliteStore;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'ab-writer-'));
    store = await SqliteStore.open(join(home, 'autobuilder.db'));
  });
  after(async () => {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('creates builds on its own thread, read back whole on the service connection', async () => {
    assert.equal(writerOf(store)?.running, true, 'a file database starts a writer thread');
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.createBuild(newBuild({ branch: `w-${i % 4}`, deliveryId: `writer-${i}` })),
      ),
    );
    assert.equal(new Set(made.map((m) => m.build.id)).size, 20);
    // Each branch's older queued builds were superseded by its newer ones, and said so.
    const superseded = made.flatMap((m) => m.superseded);
    assert.equal(superseded.length, 16);
    for (const build of superseded) assert.deepEqual(await store.getBuild(build.id), build);
    for (const { build } of made.slice(16)) assert.deepEqual(await store.getBuild(build.id), build);
    // A delivery seen before answers its build, with its commit list read back.
    const again = await store.createBuild(newBuild({ branch: 'other', deliveryId: 'writer-3' }));
    assert.equal(again.created, false);
    assert.deepEqual(again.build, await store.getBuild(made[3]!.build.id));
  });

  it('answers the calls waiting for a thread that dies, then writes on the service connection', async () => {
    const writer = writerOf(store)!;
    const calls = Array.from({ length: 10 }, (_, i) =>
      store.createBuild(newBuild({ branch: `dying-${i}`, deliveryId: `dying-${i}` })),
    );
    await writer.worker!.terminate();
    const settled = await Promise.allSettled(calls);
    // Each either was written before the thread went or got an error; none hangs.
    for (const [i, outcome] of settled.entries()) {
      const delivery = await store.findDelivery(`dying-${i}`);
      if (outcome.status === 'fulfilled') assert.equal(delivery?.buildId, outcome.value.build.id);
      else assert.match(String(outcome.reason), /writer thread/);
    }
    assert.equal(writer.running, false);
    const { build, created } = await store.createBuild(newBuild({ branch: 'after', deliveryId: 'after-1' }));
    assert.equal(created, true);
    assert.deepEqual(await store.getBuild(build.id), build);
  });
});

it('an in-memory database writes on its own connection (a thread cannot share it)', async () => {
  const store = await SqliteStore.open(':memory:');
  try {
    assert.equal(writerOf(store), null);
    const { build } = await store.createBuild(newBuild());
    assert.deepEqual(await store.getBuild(build.id), build);
  } finally {
    await store.close();
  }
});
