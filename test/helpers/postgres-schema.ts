/**
 * A PostgreSQL schema of the test's own on the shared test server, as a `database_url` that
 * selects it (`options=-c search_path=…`): several services (replicas) can open the same one, and
 * other tests running at the same time never see it. Dropped by `drop()`.
 */
import pg from 'pg';

export const postgresUrl = process.env.AUTOBUILDER_TEST_POSTGRES_URL;
if (!postgresUrl && process.env.CI === 'true')
  throw new Error('CI=true: AUTOBUILDER_TEST_POSTGRES_URL must point at a PostgreSQL server');

export interface TestSchema {
  name: string;
  /** A database_url for the service: the server, this schema first on the search path. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestSchema(prefix = 'ab_replicas'): Promise<TestSchema> {
  if (!postgresUrl) throw new Error('no AUTOBUILDER_TEST_POSTGRES_URL');
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  const separator = postgresUrl.includes('?') ? '&' : '?';
  return {
    name,
    url: `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
