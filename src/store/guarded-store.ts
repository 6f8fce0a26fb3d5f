/**
 * A Store whose lost database is an answer, not a crash: every call that fails because the
 * database cannot be reached throws StoreUnavailableError (503) and marks the health down; the
 * next call that succeeds marks it up. While it is down a probe looks again every `downProbeMs`,
 * so recovery is seen (and announced) even when nothing else queries; while up, every `upProbeMs`,
 * so an outage under an idle service is seen too.
 */
import type { Build, BuildRef, BuildState, NewBuild, RefType } from '../domain/build.js';
import { DatabaseHealth } from './database-health.js';
import type { StopRequest } from '../domain/build.js';
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
} from './store.js';
import { StoreUnavailableError } from './store-unavailable.js';

export interface GuardOptions {
  /** True for errors that mean "the database is not there" (retry later), not a bad query. */
  isUnavailable: (error: unknown) => boolean;
  describe: (error: unknown) => string;
  /** One cheap round trip; without it nothing probes. */
  probe?: () => Promise<void>;
  downProbeMs?: number;
  upProbeMs?: number;
}

export class GuardedStore implements Store {
  readonly health = new DatabaseHealth();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly inner: Store,
    private readonly options: GuardOptions,
  ) {
    this.scheduleProbe();
  }

  /** For the connection pool's own error events (a connection broke while idle). */
  reportConnectionError(error: unknown): void {
    if (this.options.isUnavailable(error)) this.health.markDown(this.options.describe(error));
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.health.markUp();
      return result;
    } catch (error) {
      if (!this.options.isUnavailable(error)) throw error;
      const reason = this.options.describe(error);
      this.health.markDown(reason);
      throw new StoreUnavailableError(reason);
    }
  }

  private scheduleProbe(): void {
    const { probe, downProbeMs = 2000, upProbeMs = 10_000 } = this.options;
    if (!probe || this.closed) return;
    this.timer = setTimeout(
      () => {
        this.guard(probe)
          .catch(() => undefined) // the health holds the reason; the next probe looks again
          .then(() => this.scheduleProbe())
          .catch(() => undefined);
      },
      this.health.problem ? downProbeMs : upProbeMs,
    );
    this.timer.unref();
  }

  createBuild(build: NewBuild, limits?: QueueLimits): Promise<CreatedBuild> {
    return this.guard(() => this.inner.createBuild(build, limits));
  }
  recordIgnored(deliveryId: string, event: string, reason: string, about?: DeliveryAbout): Promise<Delivery> {
    return this.guard(() => this.inner.recordIgnored(deliveryId, event, reason, about));
  }
  listDeliveries(options: { limit: number; before?: string }): Promise<DeliveryPage> {
    return this.guard(() => this.inner.listDeliveries(options));
  }
  findDelivery(deliveryId: string): Promise<Delivery | null> {
    return this.guard(() => this.inner.findDelivery(deliveryId));
  }
  getBuild(id: number): Promise<Build | null> {
    return this.guard(() => this.inner.getBuild(id));
  }
  listActive(): Promise<Build[]> {
    return this.guard(() => this.inner.listActive());
  }
  listHistory(options: { limit: number; before?: number }): Promise<HistoryPage> {
    return this.guard(() => this.inner.listHistory(options));
  }
  listRepositoryBuilds(options: Parameters<Store['listRepositoryBuilds']>[0]): Promise<HistoryPage> {
    return this.guard(() => this.inner.listRepositoryBuilds(options));
  }
  listQueuedRefs(): Promise<BuildRef[]> {
    return this.guard(() => this.inner.listQueuedRefs());
  }
  listRunning(): Promise<Build[]> {
    return this.guard(() => this.inner.listRunning());
  }
  listQueued(options: { limit: number; after?: number }): Promise<QueuedPage> {
    return this.guard(() => this.inner.listQueued(options));
  }
  countQueued(): Promise<number> {
    return this.guard(() => this.inner.countQueued());
  }
  latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null> {
    return this.guard(() => this.inner.latestForRef(repository, refType, branch));
  }
  latestWithArtifact(artifact: string): Promise<Build | null> {
    return this.guard(() => this.inner.latestWithArtifact(artifact));
  }
  approve(id: number): Promise<Build | null> {
    return this.guard(() => this.inner.approve(id));
  }
  transition(
    id: number,
    from: readonly BuildState[],
    to: BuildState,
    patch?: BuildPatch,
    fence?: Fence,
  ): Promise<Build | null> {
    return this.guard(() => this.inner.transition(id, from, to, patch, fence));
  }
  update(id: number, patch: BuildPatch, fence?: Fence): Promise<Build | null> {
    return this.guard(() => this.inner.update(id, patch, fence));
  }
  claimBuilds(
    owner: string,
    leaseMs: number,
    choose: (view: QueueView) => Promise<Claim[]>,
  ): Promise<Build[]> {
    return this.guard(() => this.inner.claimBuilds(owner, leaseMs, choose));
  }
  renewLeases(
    owner: string,
    leaseMs: number,
    held: readonly { id: number; epoch: number }[],
  ): Promise<Build[]> {
    return this.guard(() => this.inner.renewLeases(owner, leaseMs, held));
  }
  requestStop(id: number, stop: StopRequest): Promise<Build | null> {
    return this.guard(() => this.inner.requestStop(id, stop));
  }
  heartbeat(replica: Omit<Replica, 'heartbeatAt'>): Promise<void> {
    return this.guard(() => this.inner.heartbeat(replica));
  }
  listReplicas(): Promise<Replica[]> {
    return this.guard(() => this.inner.listReplicas());
  }
  getSetting(key: string): Promise<string | null> {
    return this.guard(() => this.inner.getSetting(key));
  }
  setSetting(key: string, value: string): Promise<void> {
    return this.guard(() => this.inner.setSetting(key, value));
  }
  countByState(): Promise<Record<BuildState, number>> {
    return this.guard(() => this.inner.countByState());
  }
  listWithFiles(): Promise<Build[]> {
    return this.guard(() => this.inner.listWithFiles());
  }
  recordCacheUse(use: CacheUse): Promise<void> {
    return this.guard(() => this.inner.recordCacheUse(use));
  }
  listCacheUses(): Promise<CacheUse[]> {
    return this.guard(() => this.inner.listCacheUses());
  }
  forgetCache(engine: string, volume: string): Promise<void> {
    return this.guard(() => this.inner.forgetCache(engine, volume));
  }
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inner.close();
  }
}
