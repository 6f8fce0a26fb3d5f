/**
 * The Store on kysely: one set of queries for SQLite (sqlite/sqlite-store.ts) and PostgreSQL
 * (postgres/postgres-store.ts), migrated on open.
 */
import { Kysely, Migrator, sql, type Selectable, type Transaction } from 'kysely';
import {
  BUILD_STATES,
  FINAL_STATES,
  isFinal,
  type Build,
  type BuildRef,
  type BuildState,
  type NewBuild,
  type RefType,
  type StopRequest,
  groupNames,
} from '../../domain/build.js';
import { answeringBuild } from '../../domain/push-replay.js';
import type {
  BuildPatch,
  CacheUse,
  Claim,
  CreatedBuild,
  Delivery,
  DeliveryAbout,
  DeliveryPage,
  Fence,
  HistoryPage,
  QueuedPage,
  QueueLimits,
  QueueView,
  Replica,
  Store,
} from '../store.js';
import { claimChosen, readQueueView } from './leases.js';
import { pushHistory } from './push-history.js';
import { migrations, type Dialect } from './migrations.js';
import { applyQueueLimits, countQueued } from './queue-limits.js';
import {
  commitsColumn,
  patchColumns,
  pullColumns,
  startable,
  toBuild,
  toBuildCommitsOnRead,
  toBuildWith,
  toDelivery,
} from './rows.js';
import { listDeliveries } from './delivery-log.js';
import { GroupCommit } from './group-commit.js';
import { rowsOf, type DirectRead, type DirectRun } from './run-compiled.js';
import { CreateBuildQueries } from './create-build-queries.js';
import { gitRef } from '../../domain/git-ref.js';
import type { Database, DeliveriesTable } from './schema.js';

type Clock = () => Date;

export class KyselyStore implements Store {
  /** Set where the database has one writer (SQLite): createBuild calls share a commit. */
  protected readonly writes: GroupCommit<Database> | null;

  protected constructor(
    private readonly db: Kysely<Database>,
    private readonly now: Clock,
    /**
     * `groupCommit`: how a group's commit is made durable (SQLite: fsync of the WAL);
     * `betweenCommits`: what runs before the next group (SQLite: the WAL checkpoint).
     */
    options: {
      groupCommit?: () => Promise<void>;
      betweenCommits?: (written: number) => Promise<void>;
      /** Runs a group's statements on its connection directly (SQLite: run-compiled.ts). */
      direct?: DirectRun;
      /** Runs a read outside transactions directly, where it can (run-compiled.ts). */
      directRead?: DirectRead;
    } = {},
  ) {
    this.writes = options.groupCommit
      ? new GroupCommit(db, options.groupCommit, options.betweenCommits, options.direct)
      : null;
    this.queries = new CreateBuildQueries(db);
    this.directRead = options.directRead ?? (() => null);
  }

  private readonly directRead: DirectRead;

  /** createBuild's statements, compiled once. */
  private readonly queries: CreateBuildQueries;

  /** Applies the migrations; throws what failed (the caller closes the connection). */
  protected static async migrate(db: Kysely<Database>, dialect: Dialect, schema?: string): Promise<void> {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations(dialect) },
      // 0004 (another change) may be merged after a database already ran 0005.
      allowUnorderedMigrations: true,
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  /**
   * Serialises createBuild per ref where the database does not already: SQLite runs one
   * transaction at a time; PostgreSQL overrides this with an advisory lock.
   */
  protected async lockRef(_trx: Transaction<Database>, _key: string): Promise<void> {}

  /**
   * Makes the queue limits' count-then-change atomic between servers sharing the database;
   * taken first in the transaction, before the ref lock and any row lock, so it cannot deadlock.
   */
  protected async lockQueue(_trx: Transaction<Database>): Promise<void> {}

  protected get database(): Kysely<Database> {
    return this.db;
  }

  private planner: Promise<unknown> = Promise.resolve();

  /**
   * Runs a planning pass alone. Here (SQLite, one writer, one process): one pass at a time in
   * this process, outside a transaction, so the planner's awaits do not hold the file's lock.
   * PostgreSQL overrides it with a transaction and an advisory lock shared by every replica.
   */
  protected planAlone<T>(plan: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const next = this.planner.then(
      () => plan(this.db),
      () => plan(this.db),
    );
    this.planner = next.catch(() => undefined);
    return next;
  }

  async claimBuilds(
    owner: string,
    leaseMs: number,
    choose: (view: QueueView) => Promise<Claim[]>,
  ): Promise<Build[]> {
    return this.planAlone(async (db) => {
      const chosen = await choose(await readQueueView(db));
      return claimChosen(db, chosen, owner, this.leaseEnd(leaseMs));
    });
  }

  private leaseEnd(leaseMs: number): string {
    return new Date(this.now().getTime() + leaseMs).toISOString();
  }

  async renewLeases(
    owner: string,
    leaseMs: number,
    held: readonly { id: number; epoch: number }[],
  ): Promise<Build[]> {
    if (held.length === 0) return [];
    const rows = await this.db
      .updateTable('builds')
      .set({ lease_expires_at: this.leaseEnd(leaseMs) })
      .where('owner', '=', owner)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>', this.now().toISOString())
      .where((eb) => eb.or(held.map((h) => eb.and([eb('id', '=', h.id), eb('epoch', '=', h.epoch)]))))
      .returningAll()
      .returning(commitsColumn)
      .execute();
    return rows.map(toBuild);
  }

  async requestStop(id: number, stop: StopRequest): Promise<Build | null> {
    const row = await this.db
      .updateTable('builds')
      .set({ cancel_requested: JSON.stringify(stop) })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .returningAll()
      .returning(commitsColumn)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async heartbeat(replica: Omit<Replica, 'heartbeatAt'>): Promise<void> {
    const heartbeat_at = this.now().toISOString();
    await this.db
      .insertInto('replicas')
      .values({
        instance: replica.instance,
        host: replica.host,
        pid: replica.pid,
        started_at: replica.startedAt,
        heartbeat_at,
      })
      .onConflict((oc) =>
        oc.column('instance').doUpdateSet({
          host: replica.host,
          pid: replica.pid,
          started_at: replica.startedAt,
          heartbeat_at,
        }),
      )
      .execute();
  }

  async listReplicas(): Promise<Replica[]> {
    const rows = await this.db.selectFrom('replicas').selectAll().orderBy('heartbeat_at', 'desc').execute();
    return rows.map((r) => ({
      instance: r.instance,
      host: r.host,
      pid: Number(r.pid),
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
    }));
  }

  async getSetting(key: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async createBuild(input: NewBuild, limits?: QueueLimits): Promise<CreatedBuild> {
    const work = (trx: Transaction<Database>) => this.insertBuild(trx, input, limits);
    return this.writes ? this.writes.run(work) : this.db.transaction().execute(work);
  }

  private async insertBuild(
    trx: Transaction<Database>,
    input: NewBuild,
    limits?: QueueLimits,
  ): Promise<CreatedBuild> {
    const now = this.now().toISOString();
    if (limits) await this.lockQueue(trx);
    const names = groupNames(input);
    await this.lockRef(trx, `${names.join(',')} ${input.refType} ${input.branch}`);
    if (input.deliveryId) {
      // Claim the delivery id first. A concurrent transaction with the same id waits on this row
      // (PostgreSQL) or runs after this one (SQLite), then finds the build made here.
      const claimed = await rowsOf(
        trx,
        this.queries.claimDelivery.with({
          delivery_id: input.deliveryId,
          event: input.refType === 'pull' ? 'pull_request' : 'push',
          received_at: now,
          repository: input.repository,
          ref: gitRef(input.refType, input.branch),
        }),
      );
      if (claimed.length === 0) {
        const [seen] = await rowsOf(trx, this.queries.findDelivery.with({ deliveryId: input.deliveryId }));
        if (!seen) throw new Error(`delivery ${input.deliveryId} vanished inside its transaction`);
        if (seen.build_id != null) return this.answer(trx, seen.build_id);
        // Ignored before (say, its repository was not configured yet): it builds now, and is
        // listed as arriving now.
        await trx
          .updateTable('deliveries')
          .set({ received_at: now, repository: input.repository, ref: gitRef(input.refType, input.branch) })
          .where('delivery_id', '=', input.deliveryId)
          .execute();
      }
    }
    if (input.push) {
      const answering = answeringBuild(
        { ...input.push, commit: input.commit },
        await pushHistory(trx, this.queries, input, input.push),
      );
      if (answering !== null) {
        if (input.deliveryId) await this.linkDelivery(trx, input.deliveryId, answering);
        return this.answer(trx, answering);
      }
    }
    const [row] = await rowsOf(
      trx,
      this.queries.insertBuild.with({
        project: input.project,
        repository: input.repository,
        ref_type: input.refType,
        branch: input.branch,
        commit_sha: input.commit,
        kind: input.kind,
        state: 'queued',
        pusher: input.pusher,
        delivery_id: input.deliveryId,
        body_sha256: input.push?.bodySha256 ?? null,
        steps: '[]',
        retry_of: input.retryOf ?? null,
        attempt: input.attempt ?? 1,
        ...pullColumns(input.refType === 'pull' ? input.pull : null),
        created_at: now,
      }),
    );
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    if (input.commits.length > 0)
      await rowsOf(
        trx,
        this.queries.insertCommits.with({ build_id: row.id, commits: JSON.stringify(input.commits) }),
      );
    if (input.deliveryId) await this.linkDelivery(trx, input.deliveryId, row.id);
    const superseded = await rowsOf(
      trx,
      this.queries.supersede(names, {
        refType: input.refType,
        branch: input.branch,
        id: row.id,
        reason: `superseded by #${row.id}`,
        now,
      }),
    );
    if (limits)
      superseded.push(
        ...(await applyQueueLimits(trx, this.queries, row, names, limits, superseded.length, now)),
      );
    return {
      build: toBuildWith(row, input.commits),
      created: true,
      superseded: superseded.map(toBuildCommitsOnRead),
    };
  }

  private async answer(trx: Transaction<Database>, buildId: number): Promise<CreatedBuild> {
    const [row] = await rowsOf(trx, this.queries.build.with({ id: buildId }));
    if (!row) throw new Error(`build #${buildId} not found inside its transaction`);
    return { build: toBuild(row), created: false, superseded: [] };
  }

  private async linkDelivery(trx: Transaction<Database>, deliveryId: string, buildId: number): Promise<void> {
    await rowsOf(trx, this.queries.linkDelivery.with({ deliveryId, buildId }));
  }

  async recordIgnored(
    deliveryId: string,
    event: string,
    reason: string,
    about: DeliveryAbout = {},
  ): Promise<Delivery> {
    const values = {
      outcome: about.outcome ?? 'ignored',
      reason,
      received_at: this.now().toISOString(),
      repository: about.repository ?? null,
      ref: about.ref ?? null,
    };
    await this.db
      .insertInto('deliveries')
      .values({ delivery_id: deliveryId, event, build_id: null, ...values })
      .onConflict((oc) =>
        oc
          .column('delivery_id')
          .doUpdateSet(values)
          .where('deliveries.outcome', 'in', ['ignored', 'refused']),
      )
      .execute();
    return (await this.findDelivery(deliveryId))!;
  }

  listDeliveries(options: { limit: number; before?: string }): Promise<DeliveryPage> {
    return listDeliveries(this.db, options);
  }

  async findDelivery(deliveryId: string): Promise<Delivery | null> {
    // Every webhook asks, before anything else.
    const query = this.queries.findDelivery.with({ deliveryId });
    const [row] = (this.directRead(query) ??
      (await this.db.executeQuery(query)).rows) as Selectable<DeliveriesTable>[];
    return row ? toDelivery(row) : null;
  }

  async getBuild(id: number): Promise<Build | null> {
    const row = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async listActive(): Promise<Build[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('state', 'in', ['queued', 'running'])
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toBuild);
  }

  async listQueuedRefs(): Promise<BuildRef[]> {
    const rows = await this.db
      .selectFrom('builds')
      .select(['id', 'repository', 'ref_type', 'branch', 'kind'])
      .where('state', '=', 'queued')
      // A fork's pull request waits for approval: not started, so not planned.
      .where(startable)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      repository: row.repository,
      refType: row.ref_type as BuildRef['refType'],
      branch: row.branch,
      kind: row.kind as BuildRef['kind'],
    }));
  }

  async listRunning(): Promise<Build[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('state', '=', 'running')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toBuild);
  }

  async listQueued({ limit, after }: { limit: number; after?: number }): Promise<QueuedPage> {
    let query = this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('state', '=', 'queued')
      .orderBy('id', 'asc')
      .limit(limit + 1);
    if (after !== undefined) query = query.where('id', '>', after);
    const rows = await query.execute();
    const builds = rows.slice(0, limit).map(toBuild);
    return { builds, nextAfter: rows.length > limit ? (builds.at(-1)?.id ?? null) : null };
  }

  async listHistory({ limit, before }: { limit: number; before?: number }): Promise<HistoryPage> {
    let query = this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('state', 'in', [...FINAL_STATES])
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query.execute();
    const builds = rows.slice(0, limit).map(toBuild);
    return { builds, nextBefore: rows.length > limit ? (builds.at(-1)?.id ?? null) : null };
  }

  async listRepositoryBuilds({
    repository,
    branch,
    limit,
    before,
  }: Parameters<Store['listRepositoryBuilds']>[0]): Promise<HistoryPage> {
    let query = this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('repository', '=', repository)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (branch !== undefined) query = query.where('branch', '=', branch);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query.execute();
    const builds = rows.slice(0, limit).map(toBuild);
    return { builds, nextBefore: rows.length > limit ? (builds.at(-1)?.id ?? null) : null };
  }

  async latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null> {
    const row = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('repository', '=', repository)
      .where('ref_type', '=', refType)
      .where('branch', '=', branch)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async latestWithArtifact(artifact: string): Promise<Build | null> {
    const row = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('artifact', '=', artifact)
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
    fence?: Fence,
  ): Promise<Build | null> {
    let query = this.db
      .updateTable('builds')
      // A build that ends keeps its owner (who ran it) and drops its lease and stop request.
      .set({
        ...patchColumns(patch),
        state: to,
        ...(isFinal(to) ? { lease_expires_at: null, cancel_requested: null } : {}),
      })
      .where('id', '=', id)
      .where('state', 'in', [...from]);
    if (fence) query = query.where('owner', '=', fence.owner).where('epoch', '=', fence.epoch);
    const row = await query.returningAll().returning(commitsColumn).executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async approve(id: number): Promise<Build | null> {
    const row = await this.db
      .updateTable('builds')
      .set({ pull_approval: 'approved' })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .where('pull_approval', '=', 'awaiting')
      .returningAll()
      .returning(commitsColumn)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async update(id: number, patch: BuildPatch, fence?: Fence): Promise<Build | null> {
    const columns = patchColumns(patch);
    if (Object.keys(columns).length === 0 && !fence) return this.getBuild(id);
    let query = this.db
      .updateTable('builds')
      .set(Object.keys(columns).length === 0 ? { epoch: sql<number>`epoch` } : columns)
      .where('id', '=', id);
    if (fence)
      query = query
        .where('state', '=', 'running')
        .where('owner', '=', fence.owner)
        .where('epoch', '=', fence.epoch);
    const row = await query.returningAll().returning(commitsColumn).executeTakeFirst();
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

  async countQueued(): Promise<number> {
    return countQueued(this.db);
  }

  async listWithFiles(): Promise<Build[]> {
    const rows = await this.db
      .selectFrom('builds')
      .selectAll()
      .select(commitsColumn)
      .where('state', 'in', [...FINAL_STATES])
      .where((eb) => eb.or([eb('log_path', 'is not', null), eb('artifact', 'is not', null)]))
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toBuild);
  }

  async recordCacheUse(use: CacheUse): Promise<void> {
    const row = {
      engine: use.engine,
      volume: use.volume,
      repository: use.repository,
      path: use.path,
      ref_type: use.refType,
      branch: use.branch,
      last_used_at: use.lastUsedAt,
    };
    await this.db
      .insertInto('caches')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['engine', 'volume'])
          .doUpdateSet({ last_used_at: row.last_used_at })
          // ISO times of one format compare as text: an older use never moves the time back.
          .where('caches.last_used_at', '<', row.last_used_at),
      )
      .execute();
  }

  async listCacheUses(): Promise<CacheUse[]> {
    const rows = await this.db
      .selectFrom('caches')
      .selectAll()
      .orderBy('last_used_at')
      .orderBy('engine')
      .orderBy('volume')
      .execute();
    return rows.map((r) => ({
      engine: r.engine,
      volume: r.volume,
      repository: r.repository,
      path: r.path,
      refType: r.ref_type,
      branch: r.branch,
      lastUsedAt: r.last_used_at,
    }));
  }

  async forgetCache(engine: string, volume: string): Promise<void> {
    await this.db.deleteFrom('caches').where('engine', '=', engine).where('volume', '=', volume).execute();
  }

  /** One round trip to the database (for health probes); throws what the driver says. */
  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
