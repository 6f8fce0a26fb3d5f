/**
 * The Store on kysely: one set of queries for SQLite (sqlite/sqlite-store.ts) and PostgreSQL
 * (postgres/postgres-store.ts), migrated on open. Here: the writes a push makes (create-build.ts,
 * grouped on SQLite), deliveries, the planner's claim, and the parts by topic: reads of builds
 * (build-reads.ts), changes to a build (build-changes.ts), replicas, settings and caches
 * (shared-rows.ts).
 */
import { Kysely, sql, type Selectable, type Transaction } from 'kysely';
import {
  type Build,
  type BuildRef,
  type BuildState,
  type NewBuild,
  type RefType,
  type StopRequest,
} from '../../domain/build.js';
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
import { claimChosen, leaseEnd, readQueueView } from './leases.js';
import { migrations, runMigrations, type Dialect } from './migrations.js';
import { countQueued } from './queue-limits.js';
import { toDelivery } from './rows.js';
import { listDeliveries } from './delivery-log.js';
import { GroupCommit, type GroupHooks } from './group-commit.js';
import type { DirectRead } from './run-compiled.js';
import { CreateBuildQueries } from './create-build-queries.js';
import { storeBuild, type PushWrites } from './create-build.js';
import { BuildReads } from './build-reads.js';
import { BuildChanges } from './build-changes.js';
import { SharedRows } from './shared-rows.js';
import type { Database, DeliveriesTable } from './schema.js';

type Clock = () => Date;

export class KyselyStore implements Store {
  /** Set where the database has one writer (SQLite): createBuild calls share a commit. */
  protected readonly writes: GroupCommit<Database> | null;

  protected constructor(
    private readonly db: Kysely<Database>,
    private readonly now: Clock,
    options: {
      /** Set where the database has one writer (SQLite): createBuild calls share a commit. */
      group?: GroupHooks;
      /** Runs a read outside transactions directly, where it can (run-compiled.ts). */
      directRead?: DirectRead;
    } = {},
  ) {
    this.writes = options.group ? new GroupCommit(db, options.group) : null;
    this.queries = new CreateBuildQueries(db);
    this.pushWrites = {
      queries: this.queries,
      lockQueue: (trx) => this.lockQueue(trx),
      lockRef: (trx, key) => this.lockRef(trx, key),
    };
    this.reads = new BuildReads(db);
    this.changes = new BuildChanges(db, now, this.reads);
    this.shared = new SharedRows(db, now);
    this.directRead = options.directRead ?? (() => null);
  }

  private readonly directRead: DirectRead;
  private readonly reads: BuildReads;
  private readonly changes: BuildChanges;
  /** What createBuild's transaction uses (create-build.ts). */
  private readonly pushWrites: PushWrites;
  private readonly shared: SharedRows;

  /** createBuild's statements, compiled once. */
  private readonly queries: CreateBuildQueries;

  /** Applies the migrations; throws what failed (the caller closes the connection). */
  protected static async migrate(db: Kysely<Database>, dialect: Dialect, schema?: string): Promise<void> {
    await runMigrations(db, migrations(dialect), schema);
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
      return claimChosen(db, chosen, owner, leaseEnd(this.now(), leaseMs));
    });
  }

  async createBuild(input: NewBuild, limits?: QueueLimits): Promise<CreatedBuild> {
    const work = (trx: Transaction<Database>) =>
      storeBuild(trx, this.pushWrites, input, limits, this.now().toISOString());
    return this.writes ? this.writes.run(work) : this.db.transaction().execute(work);
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

  async countQueued(): Promise<number> {
    return countQueued(this.db);
  }

  // Changes to a build (build-changes.ts).
  renewLeases(...args: Parameters<Store['renewLeases']>): Promise<Build[]> {
    return this.changes.renewLeases(...args);
  }
  requestStop(id: number, stop: StopRequest): Promise<Build | null> {
    return this.changes.requestStop(id, stop);
  }
  transition(...args: Parameters<Store['transition']>): Promise<Build | null> {
    return this.changes.transition(...args);
  }
  approve(id: number): Promise<Build | null> {
    return this.changes.approve(id);
  }
  update(id: number, patch: BuildPatch, fence?: Fence): Promise<Build | null> {
    return this.changes.update(id, patch, fence);
  }

  // Reads of builds (build-reads.ts).
  getBuild(id: number): Promise<Build | null> {
    return this.reads.getBuild(id);
  }
  listActive(): Promise<Build[]> {
    return this.reads.listActive();
  }
  listQueuedRefs(): Promise<BuildRef[]> {
    return this.reads.listQueuedRefs();
  }
  listRunning(): Promise<Build[]> {
    return this.reads.listRunning();
  }
  listQueued(options: { limit: number; after?: number }): Promise<QueuedPage> {
    return this.reads.listQueued(options);
  }
  listHistory(options: { limit: number; before?: number }): Promise<HistoryPage> {
    return this.reads.listHistory(options);
  }
  listRepositoryBuilds(options: Parameters<Store['listRepositoryBuilds']>[0]): Promise<HistoryPage> {
    return this.reads.listRepositoryBuilds(options);
  }
  latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null> {
    return this.reads.latestForRef(repository, refType, branch);
  }
  latestWithArtifact(artifact: string): Promise<Build | null> {
    return this.reads.latestWithArtifact(artifact);
  }
  listWithFiles(): Promise<Build[]> {
    return this.reads.listWithFiles();
  }
  countByState(): Promise<Record<BuildState, number>> {
    return this.reads.countByState();
  }

  // Replicas, settings and cache uses (shared-rows.ts).
  heartbeat(replica: Omit<Replica, 'heartbeatAt'>): Promise<void> {
    return this.shared.heartbeat(replica);
  }
  listReplicas(): Promise<Replica[]> {
    return this.shared.listReplicas();
  }
  getSetting(key: string): Promise<string | null> {
    return this.shared.getSetting(key);
  }
  setSetting(key: string, value: string): Promise<void> {
    return this.shared.setSetting(key, value);
  }
  recordCacheUse(use: CacheUse): Promise<void> {
    return this.shared.recordCacheUse(use);
  }
  listCacheUses(): Promise<CacheUse[]> {
    return this.shared.listCacheUses();
  }
  forgetCache(engine: string, volume: string): Promise<void> {
    return this.shared.forgetCache(engine, volume);
  }

  /** One round trip to the database (for health probes); throws what the driver says. */
  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
