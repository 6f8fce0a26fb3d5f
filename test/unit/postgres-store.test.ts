/**
 * The Store contract on a real PostgreSQL server (.ci/run starts one with scripts/start-postgres.sh
 * and sets AUTOBUILDER_TEST_POSTGRES_URL). Each run uses a schema of its own, dropped afterwards.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newBuild, storeContract } from './store.contract.js';

const url = process.env.AUTOBUILDER_TEST_POSTGRES_URL;
if (!url && process.env.CI === 'true') {
  throw new Error(
    'CI=true: AUTOBUILDER_TEST_POSTGRES_URL must point at a PostgreSQL server (see scripts/start-postgres.sh)',
  );
}
const schemas: string[] = [];
const schema = () => {
  const name = `ab_test_${process.pid}_${schemas.length}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(name);
  return name;
};

if (url) {
  storeContract('PostgreSQL', () => PostgresStore.open(url, { schema: schema() }));

  it('PostgreSQL: two servers taking the same delivery at once make one build', async () => {
    const shared = schema();
    const [a, b] = await Promise.all([
      PostgresStore.open(url, { schema: shared }),
      PostgresStore.open(url, { schema: shared }),
    ]);
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).createBuild(newBuild({ branch: 'race', deliveryId: 'race-1' })),
        ),
      );
      assert.equal(new Set(results.map((r) => r.build.id)).size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('PostgreSQL: two servers taking pushes at once keep both queue limits exactly', async () => {
    const shared = schema();
    const [a, b] = await Promise.all([
      PostgresStore.open(url, { schema: shared }),
      PostgresStore.open(url, { schema: shared }),
    ]);
    try {
      const perRepository = { perRepository: 3, total: 1000 };
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 ? a : b).createBuild(newBuild({ repository: 'acme/race', branch: `r${i}` }), perRepository),
        ),
      );
      assert.equal((await a.countByState()).queued, 3);
      const total = { perRepository: 1000, total: 8 };
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 ? a : b).createBuild(newBuild({ repository: 'acme/wide', branch: `w${i}` }), total),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
      assert.ok(
        results.every(
          (r) => r.status === 'fulfilled' || (r.reason as { code?: string }).code === 'QUEUE_FULL',
        ),
      );
      assert.equal((await b.countByState()).queued, 8);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('PostgreSQL: replicas planning at once see each other’s claims (one planner at a time)', async () => {
    const shared = schema();
    const [a, b] = await Promise.all([
      PostgresStore.open(url, { schema: shared }),
      PostgresStore.open(url, { schema: shared }),
    ]);
    try {
      for (let i = 0; i < 6; i++) await a.createBuild(newBuild({ repository: 'acme/plan', branch: `p${i}` }));
      // Each planner starts a queued build when fewer than 2 run, after a pause that
      // would let another planner read the same state if planning were not exclusive.
      const planOnce = (store: PostgresStore, owner: string) =>
        store.claimBuilds(owner, 30_000, async (view) => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          // Different picks per replica (oldest, newest), so two stale views would both claim.
          const pick = owner === 'ra' ? view.queued[0] : view.queued.at(-1);
          return view.running.length < 2 && pick ? [{ id: pick.id, patch: {} }] : [];
        });
      await Promise.all(Array.from({ length: 8 }, (_, i) => planOnce(i % 2 ? a : b, i % 2 ? 'ra' : 'rb')));
      assert.equal((await a.countByState()).running, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  after(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const name of schemas) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await client.end();
  });
} else {
  it(
    'PostgreSQL store contract',
    { skip: 'AUTOBUILDER_TEST_POSTGRES_URL is not set (outside CI)' },
    () => undefined,
  );
}
