/**
 * Queries compiled once (store/kysely/prepared-query.ts, create-build-queries.ts): the same SQL
 * and parameters as the query builder gives, on both dialects; a missing value is an error, not a
 * NULL; on SQLite, statements prepared before a schema change keep working after it; and a
 * group commit's statements run on its connection directly (run-compiled.ts), others through kysely.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteDialect,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
  type Dialect,
} from 'kysely';
import { CreateBuildQueries } from '../../src/store/kysely/create-build-queries.js';
import { PreparedQuery } from '../../src/store/kysely/prepared-query.js';
import { rowsOf, runDirectly } from '../../src/store/kysely/run-compiled.js';
import { commitsColumn } from '../../src/store/kysely/rows.js';
import type { Database as Schema } from '../../src/store/kysely/schema.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newBuild } from './store.contract.js';

/** A dialect that compiles and never connects. */
function compileOnly(sqlite: boolean): Dialect {
  return {
    createAdapter: () => (sqlite ? new SqliteAdapter() : new PostgresAdapter()),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => (sqlite ? new SqliteIntrospector(db) : new PostgresIntrospector(db)),
    createQueryCompiler: () => (sqlite ? new SqliteQueryCompiler() : new PostgresQueryCompiler()),
  };
}

for (const sqlite of [true, false]) {
  describe(`prepared queries (${sqlite ? 'SQLite' : 'PostgreSQL'})`, () => {
    const db = new Kysely<Schema>({ dialect: compileOnly(sqlite) });
    const queries = new CreateBuildQueries(db);

    it('give the query builder’s SQL and parameters, constants kept in their places', () => {
      const supersede = (names: string[], id: number) =>
        db
          .updateTable('builds')
          .set({ state: 'superseded', reason: `superseded by #${id}`, finished_at: 'now' })
          .where('repository', 'in', names)
          .where('ref_type', '=', 'branch')
          .where('branch', '=', 'main')
          .where('state', '=', 'queued')
          .where('id', '<', id)
          .returningAll()
          .returning(commitsColumn)
          .compile();
      // Twice each, with other values the second time: the compiled form is reused.
      for (const [names, id] of [
        [['acme/os'], 7],
        [['acme/os'], 8],
        [['acme/new', 'acme/old'], 9],
        [['acme/a', 'acme/b'], 10],
      ] as const) {
        const prepared = queries.supersede(names, {
          refType: 'branch',
          branch: 'main',
          id,
          reason: `superseded by #${id}`,
          now: 'now',
        });
        const built = supersede([...names], id);
        assert.equal(prepared.sql, built.sql);
        assert.deepEqual(prepared.parameters, built.parameters);
      }
      const newest = queries.newestOfRef.with({ repository: 'acme/os', refType: 'tag', branch: 'v1' });
      const built = db
        .selectFrom('builds')
        .select(['id', 'commit_sha'])
        .where('repository', '=', 'acme/os')
        .where('ref_type', '=', 'tag')
        .where('branch', '=', 'v1')
        .orderBy('id', 'desc')
        .limit(1)
        .compile();
      assert.equal(newest.sql, built.sql);
      assert.deepEqual(newest.parameters, built.parameters);
    });

    it('refuse a missing value instead of sending NULL', () => {
      const query = new PreparedQuery<{ id: number; state: string }, unknown>((param) =>
        db
          .selectFrom('builds')
          .select('id')
          .where('id', '=', param('id'))
          .where('state', '=', param('state')),
      );
      assert.deepEqual(query.with({ id: 3, state: 'queued' }).parameters, [3, 'queued']);
      assert.throws(() => query.with({ id: 3 } as never), /no value for parameter "state"/);
    });
  });
}

it('SQLite: createBuild works on after a schema change made while its statements were prepared', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-prepared-')), 'autobuilder.db');
  const store = await SqliteStore.open(path);
  try {
    const first = await store.createBuild(newBuild({ deliveryId: 'schema-1', branch: 'main' }));
    // Another connection adds a column (as a later migration would): every cached statement's
    // SQL is unchanged, SQLite must prepare them again, and `RETURNING *` now has one more column.
    const other = new Database(path);
    other.exec("ALTER TABLE builds ADD COLUMN later TEXT DEFAULT 'x'");
    other.close();
    const second = await store.createBuild(
      newBuild({ deliveryId: 'schema-2', branch: 'main', commit: 'b'.repeat(40) }),
    );
    assert.equal(second.created, true);
    assert.deepEqual(
      second.superseded.map((build) => [build.id, build.state, build.commits]),
      [[first.build.id, 'superseded', first.build.commits]],
    );
    assert.equal((await store.findDelivery('schema-2'))?.buildId, second.build.id);
    assert.deepEqual(await store.getBuild(second.build.id), second.build);
  } finally {
    await store.close();
  }
});

it("runs a group's statements on its connection directly, any other transaction's through kysely", async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-prepared-')), 'autobuilder.db');
  const db = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: new Database(path) }),
  });
  try {
    await sql`CREATE TABLE t (n INTEGER)`.execute(db);
    const insert = CompiledQuery.raw('INSERT INTO t (n) VALUES (?) RETURNING n', [5]);
    const ran: string[] = [];
    const trx = await db.startTransaction().execute();
    assert.deepEqual(await rowsOf<Schema, unknown>(trx, insert), [{ n: 5 }], 'kysely runs it');
    runDirectly<Schema>(trx, (query) => {
      ran.push(query.sql);
      return [{ n: 6 }];
    });
    assert.deepEqual(await rowsOf<Schema, unknown>(trx, insert), [{ n: 6 }]);
    assert.deepEqual(ran, [insert.sql]);
    await trx.commit().execute();
    const other = await db.startTransaction().execute();
    assert.deepEqual(
      await rowsOf<Schema, unknown>(other, insert),
      [{ n: 5 }],
      'only the transaction it was given to',
    );
    await other.rollback().execute();
  } finally {
    await db.destroy();
  }
});

it('SQLite: the delivery lookup never reads inside a transaction that is still open', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ab-prepared-')), 'autobuilder.db');
  const store = await SqliteStore.open(path);
  try {
    await store.createBuild(newBuild({ deliveryId: 'seen-1' }));
    assert.equal((await store.findDelivery('seen-1'))?.outcome, 'build', 'read directly');
    const db = (store as unknown as { database: Kysely<Schema> }).database;
    const trx = await db.startTransaction().execute();
    await trx
      .insertInto('deliveries')
      .values({ delivery_id: 'open-1', event: 'push', outcome: 'pending', received_at: 'now' })
      .execute();
    // On the one connection, a direct read now would see the uncommitted row.
    const lookup = store.findDelivery('open-1');
    await trx.rollback().execute();
    assert.equal(await lookup, null);
  } finally {
    await store.close();
  }
});
