/** Schema migrations, applied in order at start by kysely's Migrator; the same for both databases. */
import { Migrator, sql, type Kysely, type Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_builds_and_deliveries': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('builds')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('project', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('ref_type', 'text', (c) => c.notNull())
        .addColumn('branch', 'text', (c) => c.notNull())
        .addColumn('commit_sha', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('pusher', 'text')
        .addColumn('delivery_id', 'text')
        .addColumn('commits', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('steps', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('artifact', 'text')
        .addColumn('image', 'text')
        .addColumn('log_path', 'text')
        .addColumn('retry_of', 'integer')
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('builds_state').on('builds').columns(['state', 'id']).execute();
      await db.schema
        .createIndex('builds_ref')
        .on('builds')
        .columns(['repository', 'branch', 'id'])
        .execute();
      await db.schema
        .createTable('deliveries')
        .addColumn('delivery_id', 'text', (c) => c.primaryKey())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('build_id', 'integer')
        .addColumn('reason', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull().defaultTo(sql`CURRENT_TIMESTAMP`))
        .execute();
    },
  },
  '0002_push_body_sha256': {
    // A push's signed body, hashed: the same body again (a replay) answers the build it made.
    // (Also indexes `artifact`: one migration for issue 11's names.)
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('builds').addColumn('body_sha256', 'text').execute();
      await db.schema.createIndex('builds_body').on('builds').column('body_sha256').execute();
      // Who published a kernel name (pipeline/name-owner.ts).
      await db.schema.createIndex('builds_artifact').on('builds').column('artifact').execute();
    },
  },
  '0003_builds_repository_state': {
    // The per-repository queue limit counts and picks a repository's queued builds on every push;
    // without this it reads the repository's whole history.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('builds_repository_state')
        .on('builds')
        .columns(['repository', 'state', 'id'])
        .execute();
    },
  },
  '0004_boot': {
    // The boot test's outcome ({ok, seconds} as JSON): what the lists show as "boots ✓ 7.3 s".
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('builds').addColumn('boot', 'text').execute();
    },
  },
  '0005_engine': {
    // Which Docker engine a build ran on (docs/scale-out.md); 0004 is left to another change.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('builds').addColumn('engine', 'text').execute();
    },
  },
  '0006_delivery_subject': {
    // Issue 15: deliveries are listed (/api/deliveries, the monitor) with what they were about.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('deliveries').addColumn('repository', 'text').execute();
      await db.schema.alterTable('deliveries').addColumn('ref', 'text').execute();
      await db.schema
        .createIndex('deliveries_received')
        .on('deliveries')
        .columns(['received_at', 'delivery_id'])
        .execute();
    },
  },
  '0007_builds_repository_id': {
    // A repository's page (/monitor/<owner>/<name>) pages its whole history newest first.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('builds_repository_id')
        .on('builds')
        .columns(['repository', 'id'])
        .execute();
    },
  },
  '0008_pull_requests': {
    // Issue 15: a pull request build's facts (domain/pull-request.ts); null columns on other builds.
    // `pull_approval` 'awaiting' keeps a fork's build queued but out of the scheduler's plan.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('builds').addColumn('pull_number', 'integer').execute();
      await db.schema.alterTable('builds').addColumn('pull_title', 'text').execute();
      await db.schema.alterTable('builds').addColumn('pull_base_branch', 'text').execute();
      await db.schema.alterTable('builds').addColumn('pull_head_repository', 'text').execute();
      await db.schema.alterTable('builds').addColumn('pull_fork', 'integer').execute();
      await db.schema.alterTable('builds').addColumn('pull_author', 'text').execute();
      await db.schema.alterTable('builds').addColumn('pull_approval', 'text').execute();
    },
  },
  '0009_leases': {
    // Issue 14: several replicas on one database. A running build is leased by one replica
    // (owner, expiry, epoch: the fence); stops are asked for through the row; replicas heartbeat;
    // `paused` is a shared setting. Issue 18: the failure cause as a typed column.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('builds').addColumn('cause', 'text').execute();
      await db.schema.alterTable('builds').addColumn('owner', 'text').execute();
      await db.schema.alterTable('builds').addColumn('lease_expires_at', 'text').execute();
      await db.schema
        .alterTable('builds')
        .addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('builds').addColumn('cancel_requested', 'text').execute();
      await db.schema
        .createTable('replicas')
        .addColumn('instance', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('heartbeat_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0010_caches': {
    // Build caches (issue 17): when each cache volume was last used, for gc by age. A volume's
    // labels are fixed at its creation, so the last use is kept here.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('caches')
        .addColumn('engine', 'text', (c) => c.notNull())
        .addColumn('volume', 'text', (c) => c.notNull())
        .addColumn('repository', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('ref_type', 'text', (c) => c.notNull())
        .addColumn('branch', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('caches_pk', ['engine', 'volume'])
        .execute();
    },
  },
  '0011_build_commits': {
    // A build's commit list in a table of its own (schema.ts BuildCommitsTable): a state change
    // (superseded, running, each step, finished) rewrote the whole row, its list with it: up to
    // 2048 commits of JSON, several pages, on every change. Lists move over; empty ones need no row.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('build_commits')
        .addColumn('build_id', 'integer', (c) => c.primaryKey())
        .addColumn('commits', 'text', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO build_commits (build_id, commits) SELECT id, commits FROM builds WHERE commits <> '[]'`.execute(
        db,
      );
      await db.schema.alterTable('builds').dropColumn('commits').execute();
    },
  },
});

/**
 * Applies `set` (a dialect's `migrations`, or some of them: tests make databases of an older
 * version) forward with kysely's Migrator, its record in `schema` when given; throws what failed
 * (the caller closes the connection).
 */
export async function runMigrations<DB>(
  db: Kysely<DB>,
  set: Record<string, Migration>,
  schema?: string,
): Promise<void> {
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => set },
    // 0004 (another change) may be merged after a database already ran 0005.
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  if (error) throw error;
}
