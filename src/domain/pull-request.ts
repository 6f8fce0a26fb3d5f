/**
 * A pull request build: the PR's head commit, built under the ref `pr-<number>` (`refType: 'pull'`).
 * A PR from a fork runs code nobody with push access wrote: it waits for an admin's approval unless
 * its author is trusted, and never gets secrets (pipeline/build-env.ts).
 */

import type { RefType } from './build.js';

/**
 * - `none`: builds without approval (same repository, or a trusted author);
 * - `awaiting`: queued but not started until approved (Store.listQueuedRefs leaves it out);
 * - `approved`: approved by an admin (`POST /api/builds/:id/approve`).
 */
export type PullApproval = 'none' | 'awaiting' | 'approved';

export interface PullRequestFacts {
  number: number;
  title: string;
  /** The branch the PR merges into: what `branches:` filters match. */
  baseBranch: string;
  /** `owner/name` the head commit comes from. */
  headRepository: string;
  /** The head repository is not the base repository. */
  fork: boolean;
  /** The PR author's login. */
  author: string;
  approval: PullApproval;
}

/** The ref name of PR `number`'s builds: what `{branch}` and the lists are keyed by. */
export function pullRefName(number: number): string {
  return `pr-${number}`;
}

export const PULL_REF_NAME = /^pr-[1-9][0-9]{0,9}$/;

/** `refs/pull/<n>/head`: where GitHub keeps a PR's head commit in the base repository. */
export function pullHeadRef(number: number): string {
  return `refs/pull/${number}/head`;
}

/** Whether the PR's author is trusted: case-insensitive, as GitHub logins are. */
export function isTrustedAuthor(author: string, trusted: readonly string[]): boolean {
  const login = author.toLowerCase();
  return trusted.some((name) => name.toLowerCase() === login);
}

/** How a build's ref reads in the lists: `PR #12 Fix the boot` for a pull request, else the name. */
export function refLabel(build: { refType: string; branch: string; pull: PullRequestFacts | null }): string {
  return build.refType === 'pull' && build.pull
    ? `PR #${build.pull.number} ${build.pull.title}`
    : build.branch;
}

/**
 * The ref whose base image a build starts from: a pull request's is the branch it merges into
 * (its own `pr-<n>` has no image: a PR's container is never committed).
 */
export function baseImageRef(build: {
  refType: RefType;
  branch: string;
  pull?: Pick<PullRequestFacts, 'baseBranch'> | null;
}): { refType: RefType; branch: string } {
  return build.refType === 'pull' && build.pull
    ? { refType: 'branch', branch: build.pull.baseBranch }
    : { refType: build.refType, branch: build.branch };
}
