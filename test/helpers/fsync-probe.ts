/**
 * Child process of the durability test, run under `strace -e fsync,fdatasync,openat`: opens the
 * SQLite store, then between two marker files (seen as `openat` in the trace) stores `count`
 * builds concurrently, as concurrent webhooks would. The trace shows what was fsynced in between.
 */
import { closeSync, openSync } from 'node:fs';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild } from '../unit/store.contract.js';

const [databasePath, markStart, markEnd, count] = process.argv.slice(2) as [string, string, string, string];
const store = await SqliteStore.open(databasePath);
closeSync(openSync(markStart, 'w'));
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) => store.createBuild(newBuild({ branch: `fsync-${i}` }))),
);
closeSync(openSync(markEnd, 'w'));
await store.close();
