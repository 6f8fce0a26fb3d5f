/**
 * What a restart or a stop does to builds that were running: they become `interrupted` and, up to
 * `requeueInterrupted` times, are queued again, unless a newer push to their ref is already
 * queued, which then supersedes them. Containers, QEMU processes and temp dirs of ours left by a
 * crash go. A replica's start takes only its own builds (and those of no owner, from before
 * leases): a sibling's are reaped when its lease expires (reaper.ts), never while it lives.
 */
import type { Logger } from 'pino';
import { sameRef, toNewBuild, type Build } from '../domain/build.js';
import { killOurQemu } from '../boot/leftover-qemu.js';
import type { Executor } from '../executor/executor.js';
import type { EventBus } from '../live/event-bus.js';
import { removeLeftoverTempDirs } from '../pipeline/temp-dirs.js';
import type { Fence, Store } from '../store/store.js';
import { moveBuild } from './move-build.js';

export interface RecoveryDeps {
  store: Store;
  bus: EventBus;
  executor: Executor;
  /** Every engine's executor; leftovers are looked for on each (default: `executor`). */
  executors?: Executor[];
  logger: Logger;
  tmpDirectory: string;
  requeueInterrupted: number;
  /** This service's instance id: its leftover QEMU boot tests are killed at start. */
  instance?: string;
}

/**
 * With `fence`, only while that lease still holds: of two reapers, or a reaper and an owner that
 * came back, one moves the build.
 */
export async function interruptBuild(
  deps: RecoveryDeps,
  build: Build,
  reason: string,
  fence?: Fence,
): Promise<boolean> {
  const { store, bus } = deps;
  const move = { store, bus, logger: deps.logger };
  const finishedAt = new Date().toISOString();
  const newer = (await store.listActive()).find(
    (b) => b.state === 'queued' && sameRef(b, build) && b.id > build.id,
  );
  if (newer) {
    const superseded = await moveBuild(
      move,
      build.id,
      ['running', 'queued'],
      'superseded',
      { reason: `${reason}; superseded by #${newer.id}`, finishedAt, cause: 'superseded' },
      { fence, logEnd: false },
    );
    if (superseded)
      deps.logger.warn(
        { build: build.id, action: 'superseded', by: newer.id, reason },
        `recovery: build #${build.id} ${reason}; superseded by the newer #${newer.id}`,
      );
    return superseded !== null;
  }
  const again = build.attempt <= deps.requeueInterrupted;
  const stopped = await moveBuild(
    move,
    build.id,
    ['running', 'queued'],
    'interrupted',
    { reason: again ? `${reason}; re-queued` : reason, finishedAt, cause: 'interrupted' },
    { fence, logEnd: false },
  );
  if (!stopped) return false;
  if (again) {
    const { build: retry } = await store.createBuild({
      ...toNewBuild(stopped),
      retryOf: stopped.id,
      attempt: stopped.attempt + 1,
    });
    bus.publishBuild(retry);
    deps.logger.warn(
      { build: build.id, action: 'requeued', retry: retry.id, attempt: retry.attempt, reason },
      `recovery: build #${build.id} ${reason}; queued again as #${retry.id} (attempt ${retry.attempt})`,
    );
  } else
    deps.logger.warn(
      { build: build.id, action: 'interrupted', reason },
      `recovery: build #${build.id} ${reason}; not queued again (requeue_interrupted: ${deps.requeueInterrupted})`,
    );
  return true;
}

/**
 * At start: running builds of this instance (or of none) are interrupted; leftover containers,
 * QEMU boot tests and temp dirs of ours removed.
 */
export async function recoverLeftovers(deps: RecoveryDeps): Promise<void> {
  const killed = await killOurQemu(deps.instance ?? 'default');
  if (killed.length > 0)
    deps.logger.info({ builds: killed.map((q) => q.buildId) }, 'killed QEMU boot tests left by a stop');
  for (const build of await deps.store.listActive()) {
    const ours = build.owner === null || build.owner === (deps.instance ?? 'default');
    if (build.state === 'running' && ours)
      await interruptBuild(deps, build, 'interrupted: the service stopped while it ran');
  }
  for (const executor of deps.executors ?? [deps.executor]) {
    try {
      for (const container of await executor.listManaged()) {
        await executor.destroy(container.id);
        deps.logger.info(
          { container: container.id, action: 'removed' },
          `recovery: removed leftover container ${container.id.slice(0, 12)}`,
        );
      }
    } catch (error) {
      // An engine down now: its leftovers go when it answers again (scheduler, engine up).
      deps.logger.warn({ err: error }, 'could not list or remove leftover containers');
    }
  }
  for (const entry of await removeLeftoverTempDirs(deps.tmpDirectory)) {
    deps.logger.info(
      { path: entry, action: 'removed' },
      `recovery: removed leftover temporary directory ${entry}`,
    );
  }
}
