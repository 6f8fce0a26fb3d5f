import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild, storeContract } from './store.contract.js';

storeContract('SQLite file', () =>
  SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'ab-store-')), 'db', 'autobuilder.db')),
);

it('SQLite keeps builds across a reopen of the same file', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-store-')), 'autobuilder.db');
  const first = await SqliteStore.open(path);
  const { build } = await first.createBuild(newBuild({ deliveryId: 'keep-1' }));
  await first.close();
  const second = await SqliteStore.open(path);
  assert.deepEqual(await second.getBuild(build.id), build);
  assert.equal((await second.findDelivery('keep-1'))?.buildId, build.id);
  await second.close();
});
