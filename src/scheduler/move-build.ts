/**
 * Every change of a build's state, saved and announced in one step (issue 18): a change cannot be
 * stored without the live view and metrics hearing of it, nor announced without being stored.
 * A fenced move (leases, issue 14) changes nothing when the replica no longer holds the build.
 */
import type { Logger } from 'pino';
import { isFinal, type Build, type BuildState } from '../domain/build.js';
import type { EventBus } from '../live/event-bus.js';
import type { BuildPatch, Fence, Store } from '../store/store.js';
import { logBuildEnd } from './log-build-end.js';

export interface MoveDeps {
  store: Pick<Store, 'transition'>;
  bus: EventBus;
  logger: Logger;
}

export interface MoveOptions {
  /** Only while this lease still holds (else null, nothing stored or announced). */
  fence?: Fence;
  /** The service log's end line for a final state (off where the caller says more itself). */
  logEnd?: boolean;
}

/**
 * Moves build `id` from one of `from` to `to` with `patch`; announces and returns the build after,
 * or null when it was not moved (another replica or request moved it first, or the fence broke).
 */
export async function moveBuild(
  deps: MoveDeps,
  id: number,
  from: readonly BuildState[],
  to: BuildState,
  patch: BuildPatch = {},
  options: MoveOptions = {},
): Promise<Build | null> {
  const moved = await deps.store.transition(id, from, to, patch, options.fence);
  if (!moved) return null;
  deps.bus.publishBuild(moved);
  if (isFinal(to) && options.logEnd !== false) logBuildEnd(deps.logger, moved);
  return moved;
}

/** Announces builds a claim moved (Store.claimBuilds changes several in one transaction). */
export function announceClaimed(deps: Pick<MoveDeps, 'bus'>, builds: readonly Build[]): void {
  for (const build of builds) deps.bus.publishBuild(build);
}
