/**
 * A claimed build, started here: its controller, its lease's fence, and the execution whose end
 * (`onDone`) frees its slot. The owner renews its lease at the commit point (`holdLease`). At a
 * stop, `endRuns` gives the runs their grace, then interrupts them.
 */
import type { Build } from '../domain/build.js';
import type { Engine } from '../executor/engine.js';
import type { Fence } from '../store/store.js';
import { executeBuild, type ExecuteDeps, type Stop } from './execute-build.js';
import type { RuleLookup } from '../domain/rule.js';

export interface Running {
  build: Build;
  engine: Engine;
  controller: AbortController;
  fence: Fence;
  done: Promise<void>;
}

export type RunDeps = Omit<ExecuteDeps, 'fence' | 'holdLease'> & {
  rules: RuleLookup;
  instance: string;
  leaseMs: number;
};

export function startRun(deps: RunDeps, build: Build, engine: Engine, onDone: () => void): Running {
  const rule = deps.rules.get(build.repository)!;
  deps.logger.info(
    {
      build: build.id,
      repository: build.repository,
      ref: `${build.refType} ${build.branch}`,
      commit: build.commit,
      engine: engine.name,
      owner: deps.instance,
    },
    `build #${build.id} started on ${engine.name}: ${build.repository} ${build.refType} ${build.branch} at ${build.commit.slice(0, 8)}`,
  );
  const controller = new AbortController();
  const fence: Fence = { owner: deps.instance, epoch: build.epoch };
  const done = executeBuild(
    { ...deps, fence, holdLease: () => holdLease(deps, build.id, fence) },
    build,
    rule,
    engine,
    controller,
  )
    .catch((error: unknown) =>
      // Only when the database stayed away past the stop's grace period: the record still says
      // `running`, and the next start interrupts and re-queues the build.
      deps.logger.error({ err: error, build: build.id }, 'final state not stored'),
    )
    .finally(onDone);
  return { build, engine, controller, fence, done };
}

/**
 * The service stops: waits up to `graceMs` for the runs there are now to end; past it, `expired`
 * is called, every run still there is interrupted (re-queued by the next start), and this waits
 * for them to end.
 */
export async function endRuns(
  runs: () => Iterable<Running>,
  graceMs: number,
  expired: () => void,
): Promise<void> {
  const all = Promise.all([...runs()].map((r) => r.done));
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (!late) return;
  expired();
  for (const run of runs()) {
    run.controller.abort({
      state: 'interrupted',
      reason: 'interrupted: the service stopped',
      cause: 'interrupted',
    } satisfies Stop);
  }
  await all;
}

/**
 * Renews one lease now (the commit point). While the database does not answer (PostgreSQL away,
 * a SQLite file locked by a backup) this waits, as a final state's write does: the answer then
 * says whether the lease still holds. Given up (the stop's grace is over): counted as lost.
 */
async function holdLease(deps: RunDeps, id: number, fence: Fence): Promise<boolean> {
  try {
    const held = await deps.untilStored(`build #${id}: its lease`, () =>
      deps.store.renewLeases(fence.owner, deps.leaseMs, [{ id, epoch: fence.epoch }]),
    );
    return held.length === 1;
  } catch (error) {
    deps.logger.warn({ err: error, build: id }, `build #${id}: the lease could not be confirmed`);
    return false;
  }
}
