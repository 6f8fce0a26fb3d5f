/**
 * A push stored as a queued build and announced (scheduler.ts `enqueue`): under the repository's
 * names (a renamed repository's pushes are one repository's in the queue), within the queue
 * limits, superseding the ref's queued builds; with `cancel_running`, the ref's running build is
 * superseded too, wherever it runs (shared-control.ts).
 */
import type { NewBuild, StopRequest } from '../domain/build.js';
import { baseNames } from '../domain/rule-set.js';
import type { CreatedBuild } from '../store/store.js';
import type { SchedulerOptions } from './scheduler-options.js';
import { stopSameRef } from './shared-control.js';

export async function storePush(
  options: Pick<SchedulerOptions, 'store' | 'bus' | 'rules' | 'queueLimits'>,
  pushed: NewBuild,
  /** Stops the ref's running build when this replica runs it (true); else it is asked to stop. */
  stopHere: (id: number, stop: StopRequest) => boolean,
): Promise<CreatedBuild> {
  const { store, bus, rules, queueLimits } = options;
  const rule = rules.get(pushed.repository);
  const input = rule?.aliases?.length ? { ...pushed, names: [rule.repository, ...rule.aliases] } : pushed;
  const created = await store.createBuild(
    input,
    queueLimits && { ...queueLimits, base: baseNames(rules, input.repository) },
  );
  if (!created.created) return created;
  bus.publishBuild(created.build);
  for (const old of created.superseded) bus.publishBuild(old);
  if (rules.get(input.repository)?.cancelRunning)
    await stopSameRef(store, rules, input, `superseded by #${created.build.id}`, stopHere);
  return created;
}
