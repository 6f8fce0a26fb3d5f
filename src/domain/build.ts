/** A build and its life cycle. Pure types: no I/O here. */
import type { PullRequestFacts } from './pull-request.js';
export type { PullRequestFacts } from './pull-request.js';

export const BUILD_STATES = [
  'queued',
  'running',
  'success',
  'failed',
  'cancelled',
  'superseded',
  'interrupted',
] as const;
export type BuildState = (typeof BUILD_STATES)[number];

export const FINAL_STATES: readonly BuildState[] = [
  'success',
  'failed',
  'cancelled',
  'superseded',
  'interrupted',
];

/**
 * Why a build ended other than in success, as a typed field (the reason stays the sentence users
 * read): `build` its own steps or files, `engine` the Docker engine failed under it, `timeout`,
 * `cancelled` by a request, `superseded` by a newer push, `limit` a limit of its rule (log size),
 * `interrupted` the service (or its replica) stopped under it, `config` its repository is no longer
 * configured, `internal` a bug of ours.
 */
export const FAILURE_CAUSES = [
  'build',
  'engine',
  'timeout',
  'cancelled',
  'superseded',
  'limit',
  'interrupted',
  'config',
  'internal',
] as const;
export type FailureCause = (typeof FAILURE_CAUSES)[number];

/** A stop asked for through the store (shared control): the owner of the build acts on it. */
export interface StopRequest {
  state: 'cancelled' | 'superseded';
  reason: string;
}

export function isFinal(state: BuildState): boolean {
  return FINAL_STATES.includes(state);
}

/** `full` starts from a fresh base image; `incremental` from the image a full build committed. */
export type BuildKind = 'full' | 'incremental';
/** `pull`: a pull request's head commit; its `branch` is `pr-<number>` (domain/pull-request.ts). */
export type RefType = 'branch' | 'tag' | 'pull';

export interface PushedCommit {
  sha: string;
  message: string;
  author: string;
  url: string;
}

export interface StepRecord {
  index: number;
  command: string;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
}

/** What the boot test found: the marker seen (`ok`) and how long QEMU ran. */
export interface BootResult {
  ok: boolean;
  seconds: number;
}

export interface Build {
  id: number;
  project: string;
  repository: string;
  refType: RefType;
  branch: string;
  commit: string;
  kind: BuildKind;
  state: BuildState;
  reason: string | null;
  pusher: string | null;
  deliveryId: string | null;
  commits: PushedCommit[];
  steps: StepRecord[];
  artifact: string | null;
  image: string | null;
  /** The boot test's outcome; null when the rule has none or the build never reached it. */
  boot: BootResult | null;
  logPath: string | null;
  retryOf: number | null;
  attempt: number;
  /** The Docker engine (config `engines[].name`) the build ran on; null until it starts. */
  engine: string | null;
  /** What the pull request said, for `refType: 'pull'` builds; null for every other build. */
  pull: PullRequestFacts | null;
  /** Why it did not succeed (null while active and on success). */
  cause: FailureCause | null;
  /** The service instance (replica) running it: its lease holder; null while queued. */
  owner: string | null;
  /** When the owner's lease ends unless extended (ISO time); null while queued. */
  leaseExpiresAt: string | null;
  /** Incremented at every claim and reap: a fence, so a replica presumed dead cannot write. */
  epoch: number;
  /** A cancel (or supersede) asked for by any replica, not yet acted on by the owner. */
  cancelRequested: StopRequest | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * What a push says about itself, so the store can tell a replay from a new push (Store.createBuild).
 * Manual triggers and rebuilds have none: they always build.
 */
export interface PushOrigin {
  /** The commit the ref pointed to before the push (GitHub's `before`); null when not given. */
  before: string | null;
  /** SHA-256 (hex) of the signed body: the same body again is a replay, whatever its delivery id. */
  bodySha256: string;
}
/** What the scheduler plans with: a build without its commits, steps and times. */
export type BuildRef = Pick<Build, 'id' | 'repository' | 'refType' | 'branch' | 'kind'>;

/** What a new build is made from: a push, a manual trigger, a rebuild. */
export type NewBuild = Pick<
  Build,
  'project' | 'repository' | 'refType' | 'branch' | 'commit' | 'kind' | 'pusher' | 'deliveryId' | 'commits'
> & {
  /** A pull request build's facts (with `refType: 'pull'`). */
  pull?: PullRequestFacts | null;
  retryOf?: number | null;
  attempt?: number;
  push?: PushOrigin;
  /**
   * Every name of the build's repository when its rule has aliases (domain/rule-set.ts): queued
   * builds of the ref under any of them are superseded, and they count as one repository in the
   * queue limits. Without it, the repository's own name only.
   */
  names?: readonly string[];
};

/** A build made again (rebuild, re-queued after an interruption): the same push, no delivery. */
export function toNewBuild(build: Build): NewBuild {
  return {
    project: build.project,
    repository: build.repository,
    refType: build.refType,
    branch: build.branch,
    commit: build.commit,
    kind: build.kind,
    pusher: build.pusher,
    deliveryId: null,
    commits: build.commits,
    // A pull request's facts, approval included: a re-queue or rebuild is as approved as it was.
    pull: build.pull,
  };
}

/**
 * Whether two builds are of the same ref of the same repository. `group` maps a repository name
 * to the name its builds are grouped under (canonicalName: aliases of a renamed repository).
 */
export function sameRef(
  a: Pick<Build, 'repository' | 'refType' | 'branch'>,
  b: Pick<Build, 'repository' | 'refType' | 'branch'>,
  group: (repository: string) => string = (repository) => repository,
): boolean {
  return group(a.repository) === group(b.repository) && a.refType === b.refType && a.branch === b.branch;
}

/** The names a new build is grouped under (`names`, else its repository), sorted. */
export function groupNames(build: Pick<NewBuild, 'repository' | 'names'>): string[] {
  return [...new Set([build.repository, ...(build.names ?? [])])].sort();
}

export function shortSha(commit: string): string {
  return commit.slice(0, 8);
}
