/**
 * Builds whose replica stopped renewing its lease (killed, frozen, cut off from the database):
 * any replica removes the build's container on the engine it ran on (by the owner's instance and
 * build labels), then marks it `interrupted` and re-queues it once, as recovery after a crash does.
 * The move is fenced by the dead owner's epoch, so of several reapers one re-queues it. A build
 * whose stop was asked for ends as asked instead.
 */
import type { Logger } from 'pino';
import type { Build } from '../domain/build.js';
import type { EnginePool } from '../executor/engine-pool.js';
import { interruptBuild, type RecoveryDeps } from './recovery.js';
import { moveBuild } from './move-build.js';

export interface ReapDeps {
  recovery: RecoveryDeps;
  engines: EnginePool;
  logger: Logger;
  /** True for builds this process runs now (never reaped here: their lease is renewed or lost). */
  runsHere: (id: number) => boolean;
  now?: () => Date;
}

/** Whether `build` is running under a lease that has ended. */
export function leaseExpired(build: Build, now: Date): boolean {
  return (
    build.state === 'running' && build.leaseExpiresAt !== null && build.leaseExpiresAt <= now.toISOString()
  );
}

/** Reaps each expired build of `running`; failures are logged, the next pass tries again. */
export async function reapExpired(deps: ReapDeps, running: readonly Build[]): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  let reaped = 0;
  for (const build of running) {
    if (!leaseExpired(build, now) || deps.runsHere(build.id) || build.owner === null) continue;
    await removeContainer(deps, build);
    const fence = { owner: build.owner, epoch: build.epoch };
    // A cancel (or supersede) asked for before the owner died: it ends as asked, not re-queued.
    if (build.cancelRequested) {
      const { state, reason } = build.cancelRequested;
      const stopped = await moveBuild(
        { store: deps.recovery.store, bus: deps.recovery.bus, logger: deps.logger },
        build.id,
        ['running'],
        state,
        { reason, cause: state, finishedAt: now.toISOString() },
        { fence },
      );
      if (stopped) reaped += 1;
      continue;
    }
    const moved = await interruptBuild(
      deps.recovery,
      build,
      `interrupted: replica ${build.owner} stopped renewing its lease (expired ${build.leaseExpiresAt})`,
      fence,
    );
    if (moved) reaped += 1;
  }
  return reaped;
}

async function removeContainer(deps: ReapDeps, build: Build): Promise<void> {
  const engine = deps.engines.engines.find((e) => e.name === build.engine);
  if (!engine || !build.owner) return;
  try {
    for (const container of await engine.executor.listManaged(build.owner)) {
      if (container.buildId !== build.id) continue;
      await engine.executor.destroy(container.id);
      deps.logger.info(
        { build: build.id, container: container.id, engine: engine.name, action: 'removed' },
        `reaper: removed container ${container.id.slice(0, 12)} of build #${build.id} on ${engine.name}`,
      );
    }
  } catch (error) {
    // The engine is down: the container goes when the owner's instance starts again or the
    // engine comes back and its strays are removed; the build is re-queued all the same.
    deps.logger.warn(
      { err: error, build: build.id },
      `reaper: could not remove the container of build #${build.id}`,
    );
  }
}
