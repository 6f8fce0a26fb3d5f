/**
 * Child process of test/unit/sqlite-temp-files.test.ts: pushes like the webhook benchmark's
 * (20 commits of ~300 characters, 50 branches, each superseding its branch's queued build) in
 * group commits of 16, into the SQLite file given as argv[2]. SQLite reads SQLITE_TMPDIR once, at
 * start, so the test sets it for this process.
 */
import { createHash } from 'node:crypto';
import type { NewBuild, PushedCommit } from '../../src/domain/build.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const GROUP = 16;
const GROUPS = 40;
const commits: PushedCommit[] = Array.from({ length: 20 }, (_, k) => ({
  sha: k.toString(16).padStart(40, '0'),
  message: `commit ${k} ${'m'.repeat(300)}`,
  author: 'Ann',
  url: `https://github.com/acme/os/commit/${k}`,
}));

const store = await SqliteStore.open(process.argv[2]!);
let next = 0;
const push = () => {
  const i = next++;
  const build: NewBuild = {
    project: 'acme',
    repository: 'acme/os',
    refType: 'branch',
    branch: `b${i % 50}`,
    commit: (i + 1).toString(16).padStart(40, '0'),
    kind: 'full',
    pusher: 'ann',
    deliveryId: `d-${i}`,
    commits,
    push: { before: '0'.repeat(40), bodySha256: createHash('sha256').update(String(i)).digest('hex') },
  };
  return store.createBuild(build);
};
for (let g = 0; g < GROUPS; g += 1) await Promise.all(Array.from({ length: GROUP }, push));
await store.close();
process.stdout.write(`${next}\n`);
