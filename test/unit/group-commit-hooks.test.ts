/**
 * GroupCommit's `inGroup` hook (group-commit.ts): told `true` once the group's transaction has
 * begun, so every write of the group runs inside it, and `false` before the commit or rollback
 * and again after, on both paths. SqliteStore uses it to keep a group's statement journals in
 * memory and nothing else's (sqlite-store.ts).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { GroupCommit } from '../../src/store/kysely/group-commit.js';

async function withGroup(
  run: (group: GroupCommit<unknown>, sqlite: Database.Database, told: string[]) => Promise<void>,
) {
  const sqlite = new Database(':memory:');
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  await sql`CREATE TABLE t (v INTEGER NOT NULL)`.execute(db);
  const told: string[] = [];
  const group = new GroupCommit(db, {
    inGroup: (on) => told.push(`${on} ${sqlite.inTransaction ? 'in' : 'out'}`),
  });
  try {
    await run(group, sqlite, told);
  } finally {
    await db.destroy();
  }
}

it('tells inGroup true inside the transaction before the writes, false before and after the commit', async () => {
  await withGroup(async (group, sqlite, told) => {
    const seen: string[][] = [];
    const write = (v: number) =>
      group.run(async (trx) => {
        seen.push([...told]);
        await sql`INSERT INTO t (v) VALUES (${v})`.execute(trx);
      });
    await Promise.all([write(1), write(2), write(3)]);
    assert.deepEqual(
      told,
      ['true in', 'false in', 'false out'],
      'one group: on inside, off inside, off outside',
    );
    assert.deepEqual(seen, [['true in'], ['true in'], ['true in']], 'every write of the group saw it on');
    assert.equal((sqlite.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 3);
  });
});

it('tells inGroup false inside and after a rollback too', async () => {
  await withGroup(async (group, sqlite, told) => {
    const failing = group.run(async (trx) => {
      await sql`INSERT INTO t (v) VALUES (NULL)`.execute(trx); // NOT NULL: the database's error
    });
    await assert.rejects(failing, /NOT NULL/);
    assert.deepEqual(told, ['true in', 'false in', 'false out']);
    assert.equal(sqlite.inTransaction, false, 'rolled back');
  });
});
