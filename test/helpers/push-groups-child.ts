/**
 * Child process of test/unit/sqlite-temp-files.test.ts. Makes the SQLite file argv[2] as it was
 * before migration 0011 (1000 queued builds of the ref `old`, with 8 KB commit lists in their
 * rows), drops the file `seeded` into SQLITE_TMPDIR, opens the Store on it (migrating), drops
 * `migrated`, then pushes like the webhook benchmark's (20 commits of ~300 characters, 50
 * branches, each superseding its branch's queued build) in group commits of 16; the first group
 * has a push to `old` too, which supersedes its 1000 builds: a statement journal of far more than
 * SQLite's 64 KiB in memory. SQLite reads SQLITE_TMPDIR once, at start, so the test sets it for
 * this process.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { NewBuild, PushedCommit } from '../../src/domain/build.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { migrateBefore0011 } from './before-0011.js';

const GROUP = 16;
const GROUPS = 40;
const OLD_BUILDS = 1000;
const path = process.argv[2]!;
const commits: PushedCommit[] = Array.from({ length: 20 }, (_, k) => ({
  sha: k.toString(16).padStart(40, '0'),
  message: `commit ${k} ${'m'.repeat(300)}`,
  author: 'Ann',
  url: `https://github.com/acme/os/commit/${k}`,
}));

const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(path) }) });
await migrateBefore0011(old, 'sqlite');
for (let i = 0; i < OLD_BUILDS; i += 1)
  await sql`INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, commits, created_at)
    VALUES ('acme', 'acme/os', 'branch', 'old', ${i.toString(16).padStart(40, '0')}, 'full', 'queued',
      ${JSON.stringify(commits)}, '2026-01-01T00:00:00.000Z')`.execute(old);
await old.destroy();
const mark = (name: string) => writeFileSync(join(process.env.SQLITE_TMPDIR!, name), '');

mark('seeded');
const store = await SqliteStore.open(path);
mark('migrated');
let next = 0;
const push = (branch?: string) => {
  const i = next++;
  const build: NewBuild = {
    project: 'acme',
    repository: 'acme/os',
    refType: 'branch',
    branch: branch ?? `b${i % 50}`,
    commit: (i + 1).toString(16).padStart(40, '0'),
    kind: 'full',
    pusher: 'ann',
    deliveryId: `d-${i}`,
    commits,
    push: { before: '0'.repeat(40), bodySha256: createHash('sha256').update(String(i)).digest('hex') },
  };
  return store.createBuild(build);
};
for (let g = 0; g < GROUPS; g += 1)
  await Promise.all(Array.from({ length: GROUP }, (_, k) => push(g === 0 && k === 0 ? 'old' : undefined)));
// The push to `old` superseded its 1000 queued builds: one of `old` is left queued, its own.
const queuedOld = (await store.listActive()).filter((b) => b.branch === 'old').length;
await store.close();
process.stdout.write(`${next} ${queuedOld}\n`);
