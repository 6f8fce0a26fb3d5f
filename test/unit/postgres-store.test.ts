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
