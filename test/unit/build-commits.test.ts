/**
 * A build's commit list lives apart from its row (migration 0011, schema.ts BuildCommitsTable):
 * a state change writes the row, not a push's list again; databases made before keep their lists.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { PushedCommit } from '../../src/domain/build.js';
import type { Dialect } from '../../src/store/kysely/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { migrateBefore0011 } from '../helpers/before-0011.js';
import { framesWritten, walFrames } from '../helpers/wal-commits.js';
import { newBuild } from './store.contract.js';

/** GitHub's most: 2048 commits, ≈ 600 KB of JSON. */
const bigList: PushedCommit[] = Array.from({ length: 2048 }, (_, i) => ({
  sha: i.toString(16).padStart(40, '0'),
  message: `commit ${i}: ${'a line of an ordinary commit message '.repeat(6)}`,
  author: 'Ann',
  url: `https://github.com/acme/os/commit/${i}`,
}));

it('SQLite: a state change of a build with 2048 commits writes a few pages, not its list again', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-commits-')), 'autobuilder.db');
  const store = await SqliteStore.open(path);
  try {
    const { build } = await store.createBuild(newBuild({ commits: bigList }));
    const pageSize = 4096;
    const before = walFrames(path);
    const running = await store.transition(build.id, ['queued'], 'running', { startedAt: 'now' });
    const written = framesWritten(path, before);
    // The list alone is ≈ 150 pages; the row and the indexes its state is in are a handful.
    assert.ok(JSON.stringify(bigList).length / pageSize > 100);
    assert.ok(written > 0 && written < 12, `${written} pages written for one state change`);
    assert.deepEqual(running?.commits, bigList, 'the build still reads back whole');
    assert.deepEqual((await store.getBuild(build.id))?.commits, bigList);
  } finally {
    await store.close();
  }
});

/** A database as the service left it before migration 0011: builds with their lists in the row. */
async function seedBefore0011(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  await migrateBefore0011(db, dialect, schema);
  for (const [branch, commits] of [
    ['with-list', JSON.stringify(bigList.slice(0, 3))],
    ['empty-list', '[]'],
  ])
    await sql`INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, commits, created_at)
      VALUES ('p', 'acme/os', 'branch', ${branch}, ${'c'.repeat(40)}, 'full', 'queued', ${commits}, '2026-01-01T00:00:00.000Z')`.execute(
      db,
    );
}

async function assertMigrated(store: Store): Promise<void> {
  const builds = (await store.listActive()).sort((a, b) => a.id - b.id);
  assert.deepEqual(
    builds.map((b) => [b.branch, b.commits]),
    [
      ['with-list', bigList.slice(0, 3)],
      ['empty-list', []],
    ],
  );
  // New builds after the move: with a list and without.
  const { build } = await store.createBuild(newBuild({ branch: 'after', commits: bigList.slice(0, 2) }));
  assert.deepEqual((await store.getBuild(build.id))?.commits, bigList.slice(0, 2));
  const empty = await store.createBuild(newBuild({ branch: 'after-empty', commits: [] }));
  assert.deepEqual((await store.getBuild(empty.build.id))?.commits, []);
}

it('SQLite: a database made before the lists moved keeps every list, and drops the old column', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-commits-')), 'autobuilder.db');
  const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(path) }) });
  await seedBefore0011(old, 'sqlite');
  await old.destroy();
  const store = await SqliteStore.open(path);
  try {
    await assertMigrated(store);
  } finally {
    await store.close();
  }
  const raw = new Database(path, { readonly: true });
  const columns = (raw.prepare('PRAGMA table_info(builds)').all() as { name: string }[]).map((c) => c.name);
  assert.equal(columns.includes('commits'), false);
  assert.equal((raw.prepare('SELECT count(*) AS n FROM build_commits').get() as { n: number }).n, 2);
  raw.close();
});

it('SQLite: a migration that fails half-way changes nothing, and the next start migrates', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-commits-')), 'autobuilder.db');
  const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(path) }) });
  await seedBefore0011(old, 'sqlite');
  // A view on the old column: 0011's DROP COLUMN fails after its table and copy are made.
  await sql`CREATE VIEW old_lists AS SELECT commits FROM builds`.execute(old);
  await old.destroy();
  await assert.rejects(SqliteStore.open(path), /old_lists|commits/);
  const raw = new Database(path);
  const tables = (
    raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
  ).map((t) => t.name);
  assert.equal(tables.includes('build_commits'), false, 'the new table was rolled back with the rest');
  const recorded = raw.prepare('SELECT name FROM kysely_migration').all() as { name: string }[];
  assert.equal(
    recorded.some((m) => m.name.startsWith('0011')),
    false,
  );
  raw.exec('DROP VIEW old_lists');
  raw.close();
  const store = await SqliteStore.open(path);
  try {
    await assertMigrated(store);
  } finally {
    await store.close();
  }
});

const url = process.env.AUTOBUILDER_TEST_POSTGRES_URL;
if (!url && process.env.CI === 'true')
  throw new Error('CI=true: AUTOBUILDER_TEST_POSTGRES_URL must point at a PostgreSQL server');
const schema = `ab_commits_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

if (url) {
  after(async () => {
    const pool = new pg.Pool({ connectionString: url });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('PostgreSQL: a database made before the lists moved keeps every list', async () => {
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` });
    await pool.query(`CREATE SCHEMA ${schema}`);
    const old = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    await seedBefore0011(old, 'postgres', schema);
    await old.destroy();
    const store = await PostgresStore.open(url, { schema });
    try {
      await assertMigrated(store);
    } finally {
      await store.close();
    }
  });
}
