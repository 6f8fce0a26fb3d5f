/**
 * The Store on kysely: one set of queries for SQLite (sqlite/sqlite-store.ts) and PostgreSQL
 * (postgres/postgres-store.ts), migrated on open.
 */
import { Kysely, Migrator, sql, type Selectable, type Updateable } from 'kysely';
import {
  BUILD_STATES,
  FINAL_STATES,
  type Build,
  type BuildState,
  type NewBuild,
} from '../../domain/build.js';
import type { BuildPatch, CreatedBuild, Delivery, HistoryPage, Store } from '../store.js';
import { migrations, type Dialect } from './migrations.js';
import type { BuildsTable, Database, DeliveriesTable } from './schema.js';

type Clock = () => Date;

function toBuild(row: Selectable<BuildsTable>): Build {
  return {
    id: row.id,
    project: row.project,
    repository: row.repository,
    refType: row.ref_type as Build['refType'],
    branch: row.branch,
    commit: row.commit_sha,
    kind: row.kind as Build['kind'],
    state: row.state as BuildState,
    reason: row.reason,
    pusher: row.pusher,
    deliveryId: row.delivery_id,
    commits: JSON.parse(row.commits) as Build['commits'],
    steps: JSON.parse(row.steps) as Build['steps'],
    artifact: row.artifact,
    image: row.image,
    logPath: row.log_path,
    retryOf: row.retry_of,
    attempt: row.attempt,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toDelivery(row: Selectable<DeliveriesTable>): Delivery {
  return {
    deliveryId: row.delivery_id,
    event: row.event,
    outcome: row.outcome as Delivery['outcome'],
    buildId: row.build_id,
    reason: row.reason,
    receivedAt: row.received_at,
  };
}

function patchColumns(patch: BuildPatch): Updateable<BuildsTable> {
  const columns: Record<string, unknown> = {};
  if (patch.reason !== undefined) columns.reason = patch.reason;
  if (patch.steps !== undefined) columns.steps = JSON.stringify(patch.steps);
  if (patch.artifact !== undefined) columns.artifact = patch.artifact;
  if (patch.image !== undefined) columns.image = patch.image;
  if (patch.logPath !== undefined) columns.log_path = patch.logPath;
  if (patch.startedAt !== undefined) columns.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) columns.finished_at = patch.finishedAt;
  return columns as Updateable<BuildsTable>;
}

export class KyselyStore implements Store {
  protected constructor(
    private readonly db: Kysely<Database>,
    private readonly now: Clock,
  ) {}

  /** Applies the migrations; throws what failed (the caller closes the connection). */
  protected static async migrate(db: Kysely<Database>, dialect: Dialect, schema?: string): Promise<void> {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations(dialect) },
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  async createBuild(input: NewBuild): Promise<CreatedBuild> {
    return this.db.transaction().execute(async (trx) => {
      const now = this.now().toISOString();
      if (input.deliveryId) {
        // Claim the delivery id first. A concurrent transaction with the same id waits on this row
        // (PostgreSQL) or runs after this one (SQLite), then finds the build made here.
        const claimed = await trx
          .insertInto('deliveries')
          .values({
            delivery_id: input.deliveryId,
            event: 'push',
            outcome: 'pending',
            build_id: null,
            reason: null,
            received_at: now,
          })
          .onConflict((oc) => oc.column('delivery_id').doNothing())
          .returning('delivery_id')
          .executeTakeFirst();
        if (!claimed) {
          const seen = await trx
            .selectFrom('deliveries')
            .selectAll()
            .where('delivery_id', '=', input.deliveryId)
            .executeTakeFirstOrThrow();
          if (seen.build_id != null) {
            const row = await trx
              .selectFrom('builds')
              .selectAll()
              .where('id', '=', seen.build_id)
              .executeTakeFirstOrThrow();
            return { build: toBuild(row), created: false, superseded: [] };
          }
          // Ignored before (say, its repository was not configured yet): it builds now.
        }
      }
      const row = await trx
        .insertInto('builds')
        .values({
          project: input.project,
          repository: input.repository,
          ref_type: input.refType,
          branch: input.branch,
          commit_sha: input.commit,
          kind: input.kind,
          state: 'queued',
          pusher: input.pusher,
          delivery_id: input.deliveryId,
          commits: JSON.stringify(input.commits),
          steps: '[]',
          retry_of: input.retryOf ?? null,
          attempt: input.attempt ?? 1,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (input.deliveryId) {
        await trx
          .updateTable('deliveries')
          .set({ outcome: 'build', build_id: row.id, reason: null })
          .where('delivery_id', '=', input.deliveryId)
          .execute();
      }
      const superseded = await trx
        .updateTable('builds')
        .set({ state: 'superseded', reason: `superseded by #${row.id}`, finished_at: now })
        .where('repository', '=', input.repository)
        .where('ref_type', '=', input.refType)
        .where('branch', '=', input.branch)
        .where('state', '=', 'queued')
        .where('id', '<', row.id)
        .returningAll()
        .execute();
      return { build: toBuild(row), created: true, superseded: superseded.map(toBuild) };
    });
  }

  async recordIgnored(deliveryId: string, event: string, reason: string): Promise<Delivery> {
    await this.db
      .insertInto('deliveries')
      .values({
        delivery_id: deliveryId,
        event,
        outcome: 'ignored',
        build_id: null,
        reason,
        received_at: this.now().toISOString(),
      })
      .onConflict((oc) =>
        oc.column('delivery_id').doUpdateSet({ reason }).where('deliveries.outcome', '=', 'ignored'),
      )
      .execute();
    return (await this.findDelivery(deliveryId))!;
  }

  async findDelivery(deliveryId: string): Promise<Delivery | null> {
    const row = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .executeTakeFirst();
    return row ? toDelivery(row) : null;
  }

  async getBuild(id: number): Promise<Build | null> {
    const row = await this.db.selectFrom('builds').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async listActive(): Promise<Build[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('state', 'in', ['queued', 'running'])
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toBuild);
  }

  async listHistory({ limit, before }: { limit: number; before?: number }): Promise<HistoryPage> {
    let query = this.db
      .selectFrom('builds')
      .selectAll()
      .where('state', 'in', [...FINAL_STATES])
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query.execute();
    const builds = rows.slice(0, limit).map(toBuild);
    return { builds, nextBefore: rows.length > limit ? (builds.at(-1)?.id ?? null) : null };
  }

  async latestForRef(repository: string, branch: string): Promise<Build | null> {
    const row = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('repository', '=', repository)
      .where('branch', '=', branch)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async transition(
    id: number,
    from: readonly BuildState[],
    to: BuildState,
    patch: BuildPatch = {},
  ): Promise<Build | null> {
    const row = await this.db
      .updateTable('builds')
      .set({ ...patchColumns(patch), state: to })
      .where('id', '=', id)
      .where('state', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async update(id: number, patch: BuildPatch): Promise<Build | null> {
    const columns = patchColumns(patch);
    if (Object.keys(columns).length === 0) return this.getBuild(id);
    const row = await this.db
      .updateTable('builds')
      .set(columns)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async countByState(): Promise<Record<BuildState, number>> {
    const rows = await this.db
      .selectFrom('builds')
      .select(['state', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('state')
      .execute();
    const counts = Object.fromEntries(BUILD_STATES.map((s) => [s, 0])) as Record<BuildState, number>;
    for (const row of rows) counts[row.state as BuildState] = Number(row.count);
    return counts;
  }

  async listWithFiles(): Promise<Build[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .where('state', 'in', [...FINAL_STATES])
      .where((eb) => eb.or([eb('log_path', 'is not', null), eb('artifact', 'is not', null)]))
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toBuild);
  }

  /** One round trip to the database (for health probes); throws what the driver says. */
  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
