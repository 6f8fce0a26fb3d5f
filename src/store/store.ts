/**
 * Where builds and webhook deliveries live. SQLite (sqlite/sqlite-store.ts) or PostgreSQL
 * (postgres/postgres-store.ts), one kysely implementation (kysely/kysely-store.ts);
 * both must pass test/unit/store.contract.ts.
 */
import type { Build, BuildRef, BuildState, NewBuild, RefType, StopRequest } from '../domain/build.js';

export interface Delivery {
  deliveryId: string;
  event: string;
  /** `refused`: answered 4xx/503 after its signature was checked (bad payload, queue full). */
  outcome: 'build' | 'ignored' | 'refused';
  buildId: number | null;
  reason: string | null;
  receivedAt: string;
  /** `owner/name` as the payload said (null when it said none: ping, unparsable body). */
  repository: string | null;
  /** `refs/heads/…`, `refs/tags/…`, or null. */
  ref: string | null;
}

/** What a delivery that made no build was about (all optional: a ping names no ref). */
export interface DeliveryAbout {
  repository?: string | null;
  ref?: string | null;
  outcome?: 'ignored' | 'refused';
}

export interface DeliveryPage {
  deliveries: Delivery[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  nextBefore: string | null;
}

export interface CreatedBuild {
  build: Build;
  /** False when the delivery id was seen before: `build` is the one it created then. */
  created: boolean;
  /**
   * Older queued builds this one superseded: of the same repository and ref, and those past the
   * repository's queue limit.
   */
  superseded: Build[];
}

export type BuildPatch = Partial<
  Pick<
    Build,
    | 'reason'
    | 'steps'
    | 'artifact'
    | 'image'
    | 'boot'
    | 'logPath'
    | 'startedAt'
    | 'finishedAt'
    | 'engine'
    | 'cause'
  >
>;

/**
 * The proof a replica still holds a build's lease: its instance id and the epoch its claim set.
 * A write given a fence changes nothing (and answers null) once another replica took the build.
 */
export interface Fence {
  owner: string;
  epoch: number;
}

/** A running build as planning needs it: which engine, which replica. */
export type RunningRef = BuildRef & Pick<Build, 'engine' | 'owner'>;

/** What `claimBuilds` shows the planner: the whole queue and every replica's running builds. */
export interface QueueView {
  queued: BuildRef[];
  running: RunningRef[];
}

/** A queued build the planner chose to start, with what to record (start time, log, engine). */
export interface Claim {
  id: number;
  patch: BuildPatch;
}

/** A service process sharing the database (one row each, heartbeat by heartbeat). */
export interface Replica {
  instance: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
}

export interface HistoryPage {
  builds: Build[];
  /** Pass as `before` to get the next page; null on the last one. */
  nextBefore: number | null;
}

export interface QueuedPage {
  builds: Build[];
  /** Pass as `after` to get the next page; null on the last one. */
  nextAfter: number | null;
}

/**
 * Bounds on the queue, enforced by `createBuild` in the same transaction as the insert. Builds
 * re-queued by recovery are created without them: they were accepted before.
 */
export interface QueueLimits {
  /**
   * Most queued builds of one repository; past it its oldest queued builds are superseded, pull
   * requests awaiting approval first.
   */
  perRepository: number;
  /** Most queued builds in all; a build that would grow the queue past it is refused. */
  total: number;
  /**
   * The repository the new build's repository builds on (its rule's `base`). Its queued builds
   * that wait for a queued or running full build of that base on their branch are superseded
   * last: they are held back by the scheduler, not stale, and would otherwise always look oldest.
   * Several names when the base rule has aliases (its builds may be recorded under any of them).
   */
  base?: string | readonly string[];
}

/** A build cache volume on an engine and when a build last mounted it (docs/configuration.md). */
export interface CacheUse {
  engine: string;
  volume: string;
  repository: string;
  /** The directory in the build container. */
  path: string;
  /** The ref the cache belongs to (`branch`, `tag`, or another ref type). */
  refType: string;
  branch: string;
  /** ISO time of the last build that mounted it (written or read). */
  lastUsedAt: string;
}

export interface Store {
  /**
   * Records the build (and its delivery, and `pull` for a `refType: 'pull'` build) and supersedes older queued builds of the same repository,
   * ref type and ref, atomically. A delivery id that made a build before returns that build.
   * With `limits`: past `perRepository` the oldest queued builds of the repository are superseded
   * too; a build that would grow the queue past `total` is not stored at all and the call throws
   * AppError `QUEUE_FULL`.
   * Resolves only once the build is durable: on SQLite after an fsync of the WAL, on PostgreSQL
   * after its commit (`synchronous_commit = on`, the default, waits for the WAL flush). SQLite
   * groups concurrent calls into one transaction and one fsync (kysely/group-commit.ts): a call
   * refused (QUEUE_FULL) fails alone, a database error fails every call of the group, and none of
   * those is stored.
   */
  createBuild(build: NewBuild, limits?: QueueLimits): Promise<CreatedBuild>;
  /**
   * Records a delivery that made no build. Again for the same id: the reason is updated, unless
   * the delivery made a build meanwhile. A later `createBuild` with that id turns it into a build.
   */
  recordIgnored(deliveryId: string, event: string, reason: string, about?: DeliveryAbout): Promise<Delivery>;
  /** Deliveries, newest first (by arrival, a redelivery counting as new), `limit` at a time. */
  listDeliveries(options: { limit: number; before?: string }): Promise<DeliveryPage>;
  findDelivery(deliveryId: string): Promise<Delivery | null>;
  getBuild(id: number): Promise<Build | null>;
  /** Queued and running builds, oldest first. */
  listActive(): Promise<Build[]>;
  /**
   * Every queued build, oldest first, as the few columns the scheduler plans with: it plans on
   * every push, and reading thousands of whole builds each time made webhooks wait. Pull request
   * builds awaiting approval (`pull.approval === 'awaiting'`) are left out: they must not start.
   */
  listQueuedRefs(): Promise<BuildRef[]>;
  /** Running builds, oldest first (bounded by the concurrency). */
  listRunning(): Promise<Build[]>;
  /** Queued builds, oldest first, `limit` at a time after the id `after` (keyset, stable). */
  listQueued(options: { limit: number; after?: number }): Promise<QueuedPage>;
  /** Finished builds, newest first. */
  listHistory(options: { limit: number; before?: number }): Promise<HistoryPage>;
  /**
   * One repository's builds in every state (and of one branch when given), newest first, `limit`
   * at a time before the id `before` (keyset: stable while builds are added).
   */
  listRepositoryBuilds(options: {
    repository: string;
    branch?: string;
    limit: number;
    before?: number;
  }): Promise<HistoryPage>;
  /** The newest build of a repository's branch or tag (a tag and a branch of one name are two refs). */
  latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null>;
  /** The newest build that published the kernel file `artifact` (who owns that name). */
  latestWithArtifact(artifact: string): Promise<Build | null>;
  /**
   * Moves a build to `to` only when it is in one of `from`; returns the updated build, or null
   * when it was not (someone else moved it first).
   */
  transition(
    id: number,
    from: readonly BuildState[],
    to: BuildState,
    patch?: BuildPatch,
    /** Only while `fence.owner` still holds the build at `fence.epoch` (else null). */
    fence?: Fence,
  ): Promise<Build | null>;
  /** With a fence: only while the build runs, held by `fence` (else null, nothing changed). */
  update(id: number, patch: BuildPatch, fence?: Fence): Promise<Build | null>;
  /**
   * Approves a queued pull request build awaiting approval (`pull.approval` → `approved`); returns
   * it, or null when the build is not queued and awaiting approval (unknown, started, ended,
   * approved already, not a pull request).
   */
  approve(id: number): Promise<Build | null>;
  /**
   * Planning across replicas, one planner at a time (PostgreSQL: a transaction-scoped advisory
   * lock; SQLite: one at a time in the process, the file having one writer): reads the queue and
   * every replica's running builds, lets `choose` pick, and moves the chosen queued builds to
   * `running`, leased to `owner` for `leaseMs`, epoch + 1, stop request cleared. Returns them.
   */
  claimBuilds(
    owner: string,
    leaseMs: number,
    choose: (view: QueueView) => Promise<Claim[]>,
  ): Promise<Build[]>;
  /**
   * Extends by `leaseMs` the leases `owner` still holds: running, same epoch, not yet expired.
   * Returns those builds (with any stop request); a build missing from the answer is lost.
   */
  renewLeases(
    owner: string,
    leaseMs: number,
    held: readonly { id: number; epoch: number }[],
  ): Promise<Build[]>;
  /** Asks the owner of a running build to stop it (shared control); null when it is not running. */
  requestStop(id: number, stop: StopRequest): Promise<Build | null>;
  /** Records that `replica` is alive now (insert or update of its row). */
  heartbeat(replica: Omit<Replica, 'heartbeatAt'>): Promise<void>;
  /** Every replica that ever heartbeat, newest heartbeat first. */
  listReplicas(): Promise<Replica[]>;
  /** A setting shared by every replica (`paused`); null when never set. */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  countByState(): Promise<Record<BuildState, number>>;
  /** Queued builds in all: an index range, unlike `countByState`, which reads the whole history. */
  countQueued(): Promise<number>;
  /** Finished builds that still have a log or a kernel on disk, newest first (for retention). */
  listWithFiles(): Promise<Build[]>;
  /**
   * Records that a build mounted the cache `use.volume` on `use.engine` at `use.lastUsedAt`:
   * inserts it, or updates the last use of a known one (never moves it back in time).
   */
  recordCacheUse(use: CacheUse): Promise<void>;
  /** Every recorded cache, oldest last use first. */
  listCacheUses(): Promise<CacheUse[]>;
  /** Forgets a cache gc removed; one not recorded is fine. */
  forgetCache(engine: string, volume: string): Promise<void>;
  close(): Promise<void>;
}
