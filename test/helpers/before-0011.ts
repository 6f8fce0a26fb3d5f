/** A database as the service left it before migration 0011 (the commit lists in the builds' rows). */
import type { Kysely } from 'kysely';
import { migrations, runMigrations, type Dialect } from '../../src/store/kysely/migrations.js';

export async function migrateBefore0011(
  db: Kysely<unknown>,
  dialect: Dialect,
  schema?: string,
): Promise<void> {
  const before = Object.fromEntries(Object.entries(migrations(dialect)).filter(([name]) => name < '0011'));
  await runMigrations(db, before, schema);
}
