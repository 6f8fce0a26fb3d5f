/**
 * Child process of test/unit/sqlite-temp-files.test.ts. Makes the SQLite file argv[2] as it was
 * before migration 0011 (1000 queued builds of the ref `old`, with 8 KB commit lists in their
 * rows), drops the file `seeded` into SQLITE_TMPDIR, opens the Store on it (migrating), drops
 * `migrated`, then pushes like the webhook benchmark's (20 commits of ~300 characters, 50
 * branches, each superseding its branch's queued build) in group commits of 16; the first group
 * has a push to `old` too, which supersedes its 1000 builds: a statement journal of far more than
 * SQLite's 64 KiB. Then it opens SQLite's TEMP database on the store's connection (drops
 * `checked`), pushes a group that again supersedes 1000 (`old2`), drops `repaired`, and pushes one
 * more such group (`old3`). SQLite reads SQLITE_TMPDIR once, at start, so the test sets it for
 * this process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { migrateBefore0011 } from './before-0011.js';
import { BENCH_REPOSITORY, benchCommits, benchPush } from './bench-push.js';

const GROUP = 16;
const GROUPS = 40;
const OLD_BUILDS = 1000;
const path = process.argv[2]!;
/** `count` queued builds of the ref `branch`, in one statement, with the commit list (before 0011: in the row). */
const queue = (db: Kysely<unknown>, branch: string, count: number, withList: boolean) =>
  sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
    INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, ${sql.raw(withList ? 'commits, ' : '')}created_at)
    SELECT 'bench', ${BENCH_REPOSITORY}, 'branch', ${branch}, printf('%040x', i), 'full', 'queued', ${sql.raw(withList ? `'${JSON.stringify(benchCommits)}', ` : '')}
      '2026-01-01T00:00:00.000Z' FROM n`.execute(db);

const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(path) }) });
await migrateBefore0011(old, 'sqlite');
await queue(old, 'old', OLD_BUILDS, true);
await old.destroy();
const mark = (name: string) => writeFileSync(join(process.env.SQLITE_TMPDIR!, name), '');

mark('seeded');
const store = await SqliteStore.open(path);
mark('migrated');
let next = 0;
const push = (branch?: string) => store.createBuild(benchPush(next++, branch));
/** One group commit of 16 pushes, the first to `first` when given. */
const group = (first?: string) =>
  Promise.all(Array.from({ length: GROUP }, (_, k) => push(k === 0 ? first : undefined)));
for (let g = 0; g < GROUPS; g += 1) await group(g === 0 ? 'old' : undefined);

// An integrity check on the store's connection opens SQLite's TEMP database, as a column drop
// does: the next group's switch is refused (its journal goes to a file), and repaired after it.
const database = (store as unknown as { database: Kysely<unknown> }).database;
await sql`PRAGMA quick_check`.execute(database);
await queue(database, 'old2', OLD_BUILDS, false);
mark('checked');
await group('old2');
mark('repaired');
await queue(database, 'old3', OLD_BUILDS, false);
await group('old3');
// Each push to `oldN` superseded its 1000 queued builds: one of each is left queued, its own.
const active = await store.listActive();
const queued = ['old', 'old2', 'old3'].map((branch) => active.filter((b) => b.branch === branch).length);
await store.close();
process.stdout.write(`${next} ${queued.join(' ')}\n`);
