/**
 * Control that any replica may receive for a build it does not run (issue 14): a queued one is
 * moved at once; for one another replica runs the request is a row (Store.requestStop), and the
 * owner acts on it within its poll interval (replica-watch.ts).
 */
import { isFinal, type Build, type NewBuild, type StopRequest } from '../domain/build.js';
import type { RuleLookup } from '../domain/rule.js';
import { canonicalName } from '../domain/rule-set.js';
import type { Store } from '../store/store.js';
import { moveBuild, type MoveDeps } from './move-build.js';

/**
 * A push to a rule with `cancel_running`: the running build of its ref, wherever it runs, is
 * superseded. `here(id, stop)` stops it when this replica runs it (true), else it is asked.
 */
export async function stopSameRef(
  store: Store,
  rules: RuleLookup,
  pushed: Pick<NewBuild, 'repository' | 'refType' | 'branch'>,
  reason: string,
  here: (id: number, stop: StopRequest) => boolean,
): Promise<void> {
  const name = canonicalName(rules, pushed.repository);
  const sameRef = (b: Build) =>
    canonicalName(rules, b.repository) === name && b.refType === pushed.refType && b.branch === pushed.branch;
  const stop: StopRequest = { state: 'superseded', reason };
  for (const running of (await store.listRunning()).filter(sameRef))
    if (!here(running.id, stop)) await store.requestStop(running.id, stop);
}

/** The build once it is final, or as it is after `waitMs` (its owner has not acted yet). */
export async function untilFinal(
  store: Pick<Store, 'getBuild'>,
  id: number,
  waitMs: number,
): Promise<Build | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const build = await store.getBuild(id);
    if (!build || isFinal(build.state) || Date.now() >= deadline) return build;
    // Another process acts: its change is seen by reading the row (a few reads, bounded).
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Cancels a build this replica does not run: a queued one at once (`moved`); one another replica
 * runs through its row (its owner acts within its poll interval), waiting up to `waitMs` for it to
 * end, then as it is (still running, with `cancelRequested` set). Null: no such build.
 */
export async function cancelNotHere(
  deps: MoveDeps & { store: Pick<Store, 'requestStop' | 'getBuild'> },
  id: number,
  reason: string,
  waitMs: number,
): Promise<{ build: Build | null; moved: boolean }> {
  const cancelled = await moveBuild(deps, id, ['queued'], 'cancelled', {
    reason,
    cause: 'cancelled',
    finishedAt: new Date().toISOString(),
  });
  if (cancelled) return { build: cancelled, moved: true };
  if (!(await deps.store.requestStop(id, { state: 'cancelled', reason })))
    return { build: await deps.store.getBuild(id), moved: false };
  return { build: await untilFinal(deps.store, id, waitMs), moved: false };
}
