/**
 * Why a queued build waits, as the API and the monitor say it: a pull request awaiting approval
 * is not in the scheduler's plan at all (Store.listQueuedRefs leaves it out), so its reason is
 * known here, not from the last scheduling pass.
 */
import type { Build } from '../domain/build.js';
import type { Scheduler } from '../scheduler/scheduler.js';

export const AWAITING_APPROVAL = 'waiting for approval';

export function waitReason(scheduler: Pick<Scheduler, 'waitReason'>, build: Build): string | null {
  if (build.pull?.approval === 'awaiting') return AWAITING_APPROVAL;
  return scheduler.waitReason(build.id);
}
