/**
 * One build per push: telling a replayed push from a new one. A signed body cannot be forged, but
 * it can be sent again under a new delivery id; building it again would roll the ref's kernel,
 * link and image back to an old commit. A genuine push back to an older commit (a force-push)
 * must still build. The store gathers the facts (store/kysely/create-build.ts storeBuild), this
 * decides.
 */
import type { PushOrigin } from './build.js';

export interface PushHistory {
  /** The build made by the very same body (same SHA-256), if any. */
  sameBody: number | null;
  /** The newest build of this repository, ref type, ref and commit, if any. */
  sameCommit: number | null;
  /** The newest build of this repository, ref type and ref, if any. */
  latest: { id: number; commit: string } | null;
}

/**
 * The build a push answers instead of building, or null when it builds:
 * - the same body again answers the build it made;
 * - a commit this ref already has a build for answers that build, unless the push moves the ref
 *   from the commit of its latest build (GitHub's `before`): that is a force-push back, not a
 *   replay. A replay's `before` is where the ref was then, not where it is now;
 * - or unless it creates the ref (`before` all zeros): the ref was deleted (deletions make no
 *   build) and made again at a commit it had before. Its replay is caught by its body.
 */
export function answeringBuild(push: PushOrigin & { commit: string }, history: PushHistory): number | null {
  if (history.sameBody !== null) return history.sameBody;
  if (history.sameCommit === null) return null;
  return replayPossible(push, history.latest) ? history.sameCommit : null;
}

/**
 * False when the push builds whatever the ref's earlier builds of its commit are: it creates the
 * ref, or moves it on from its latest build. The store then need not look for them (an ordinary
 * push moves the ref on; looking meant reading the ref's whole history on every push).
 */
export function replayPossible(
  push: Pick<PushOrigin, 'before'> & { commit: string },
  latest: PushHistory['latest'],
): boolean {
  const movesRef = latest !== null && latest.commit !== push.commit && push.before === latest.commit;
  const createsRef = push.before !== null && /^0+$/.test(push.before);
  return !(movesRef || createsRef);
}
