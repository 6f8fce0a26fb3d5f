/**
 * What a replica looks at every `pollMs` (issue 14), so that it acts on what other replicas
 * wrote: stop requests for its own builds (cancel on another replica), builds it lost (another
 * replica reaped them), leases that expired (reaper.ts), the shared `paused` setting. Every
 * `renewMs` it extends the leases of its builds and heartbeats.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Build } from '../domain/build.js';
import type { Fence, Store } from '../store/store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';
import type { Stop } from './execute-build.js';
import { reapExpired, type ReapDeps } from './reaper.js';
import type { SharedPause } from './shared-pause.js';

export interface WatchedRun {
  build: Build;
  fence: Fence;
  controller: AbortController;
}

export interface WatchDeps {
  store: Store;
  logger: Logger;
  instance: string;
  leaseMs: number;
  renewMs: number;
  startedAt: string;
  /** This replica's runs now (a snapshot is taken at each look). */
  runs: () => Iterable<WatchedRun>;
  reap: Omit<ReapDeps, 'runsHere'>;
  /** The shared `paused` setting, read again at each look. */
  pause: SharedPause;
}

export const lostStop = (build: Build): Stop => ({
  state: 'interrupted',
  reason: `lost the lease on build #${build.id}`,
  cause: 'interrupted',
  lost: true,
});

export class ReplicaWatch {
  private lastRenew = 0;
  private quiet = false;

  constructor(private readonly deps: WatchDeps) {}

  /** One look; never throws (a database away is logged once, the next look tries again). */
  async look(): Promise<void> {
    try {
      if (Date.now() - this.lastRenew >= this.deps.renewMs) {
        await this.renew();
        this.lastRenew = Date.now();
      }
      await this.follow();
      await this.deps.pause.refresh();
      this.quiet = false;
    } catch (error) {
      if (this.quiet) return;
      this.quiet = true;
      if (error instanceof StoreUnavailableError)
        this.deps.logger.warn(`leases: database unreachable (${error.reason}); looking again`);
      else this.deps.logger.error({ err: error }, 'leases: a look at the shared queue failed');
    }
  }

  /** Extends the leases of this replica's builds; those not extended are lost. Heartbeats. */
  async renew(): Promise<void> {
    const { store, instance, leaseMs } = this.deps;
    const runs = [...this.deps.runs()];
    const renewed = new Set(
      (
        await store.renewLeases(
          instance,
          leaseMs,
          runs.map((r) => ({ id: r.build.id, epoch: r.fence.epoch })),
        )
      ).map((b) => b.id),
    );
    for (const run of runs) if (!renewed.has(run.build.id)) this.lose(run);
    await store.heartbeat({ instance, host: hostname(), pid: process.pid, startedAt: this.deps.startedAt });
  }

  /** Stop requests and lost builds of this replica; expired leases of any. */
  private async follow(): Promise<void> {
    const runs = [...this.deps.runs()];
    const running = await this.deps.store.listRunning();
    const rows = new Map(running.map((b) => [b.id, b]));
    for (const run of runs) {
      const row = rows.get(run.build.id);
      if (!row || row.owner !== this.deps.instance || row.epoch !== run.fence.epoch) this.lose(run);
      else if (row.cancelRequested && !run.controller.signal.aborted)
        run.controller.abort({
          ...row.cancelRequested,
          cause: row.cancelRequested.state,
        } satisfies Stop);
    }
    const here = new Set(runs.map((r) => r.build.id));
    await reapExpired({ ...this.deps.reap, runsHere: (id) => here.has(id) }, running);
  }

  private lose(run: WatchedRun): void {
    if (run.controller.signal.aborted) return;
    run.controller.abort(lostStop(run.build));
  }
}
