/** Rows ↔ domain objects, for the kysely Store. */
import type { ExpressionBuilder, Selectable, Updateable } from 'kysely';
import type { Build, BuildState } from '../../domain/build.js';
import type { PullApproval, PullRequestFacts } from '../../domain/pull-request.js';
import type { BuildPatch, Delivery } from '../store.js';
import type { BuildsTable, Database, DeliveriesTable } from './schema.js';

/**
 * A queued build that may start: not a fork's pull request waiting for approval. One filter for
 * the planner's queue (listQueuedRefs) and the claim (leases.ts).
 */
export function startable(eb: ExpressionBuilder<Database, 'builds'>) {
  return eb.or([eb('pull_approval', 'is', null), eb('pull_approval', '!=', 'awaiting')]);
}

/** A build's row as read: its columns and its commit list (null: none), from build_commits. */
export type BuildRow = Selectable<BuildsTable> & { commits: string | null };

/**
 * The commit list as a column of a read of `builds` (`.select(commitsColumn)`, or
 * `.returning(commitsColumn)` after `.returningAll()`): one lookup by the build's id.
 */
export function commitsColumn(eb: ExpressionBuilder<Database, 'builds'>) {
  return eb
    .selectFrom('build_commits')
    .select('build_commits.commits')
    .whereRef('build_commits.build_id', '=', 'builds.id')
    .as('commits');
}

const parseCommits = (row: BuildRow) =>
  row.commits === null ? [] : (JSON.parse(row.commits) as Build['commits']);

export function toBuild(row: BuildRow): Build {
  return toBuildWith(row, parseCommits(row));
}

/**
 * A build whose commit list is parsed when first read: the builds a push supersedes are returned
 * to be published, and nothing reads their commits unless a watcher or the API shows them (a
 * push's list is up to 2048 commits of JSON; twenty cost as much CPU as the rest of the row).
 * The property is an ordinary enumerable one once read or assigned.
 */
export function toBuildCommitsOnRead(row: BuildRow): Build {
  const build = toBuildWith(row, []);
  const settle = (commits: Build['commits']) => {
    Object.defineProperty(build, 'commits', {
      value: commits,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    return commits;
  };
  Object.defineProperty(build, 'commits', {
    get: () => settle(parseCommits(row)),
    set: settle,
    enumerable: true,
    configurable: true,
  });
  return build;
}

/**
 * A row just written, with the commit list it was written from: a push's list (up to 2048
 * commits of JSON) is not parsed back for nothing.
 */
export function toBuildWith(row: Selectable<BuildsTable>, commits: Build['commits']): Build {
  return {
    id: row.id,
    project: row.project,
    repository: row.repository,
    refType: row.ref_type as Build['refType'],
    branch: row.branch,
    commit: row.commit_sha,
    kind: row.kind as Build['kind'],
    state: row.state as BuildState,
    reason: row.reason,
    pusher: row.pusher,
    deliveryId: row.delivery_id,
    commits,
    steps: JSON.parse(row.steps) as Build['steps'],
    artifact: row.artifact,
    image: row.image,
    boot: row.boot ? (JSON.parse(row.boot) as Build['boot']) : null,
    logPath: row.log_path,
    retryOf: row.retry_of,
    attempt: row.attempt,
    engine: row.engine ?? null,
    pull: toPull(row),
    cause: (row.cause ?? null) as Build['cause'],
    owner: row.owner ?? null,
    leaseExpiresAt: row.lease_expires_at ?? null,
    epoch: Number(row.epoch ?? 0),
    cancelRequested: row.cancel_requested
      ? (JSON.parse(row.cancel_requested) as Build['cancelRequested'])
      : null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function toPull(row: Selectable<BuildsTable>): PullRequestFacts | null {
  if (row.ref_type !== 'pull' || row.pull_number == null) return null;
  return {
    number: Number(row.pull_number),
    title: row.pull_title ?? '',
    baseBranch: row.pull_base_branch ?? '',
    headRepository: row.pull_head_repository ?? '',
    fork: Number(row.pull_fork) === 1,
    author: row.pull_author ?? '',
    approval: (row.pull_approval ?? 'none') as PullApproval,
  };
}

/** The pull request columns of a new build (all null for a push, a trigger or a tag). */
export function pullColumns(pull: PullRequestFacts | null | undefined) {
  return {
    pull_number: pull?.number ?? null,
    pull_title: pull?.title ?? null,
    pull_base_branch: pull?.baseBranch ?? null,
    pull_head_repository: pull?.headRepository ?? null,
    pull_fork: pull ? (pull.fork ? 1 : 0) : null,
    pull_author: pull?.author ?? null,
    pull_approval: pull?.approval ?? null,
  };
}

export function toDelivery(row: Selectable<DeliveriesTable>): Delivery {
  return {
    deliveryId: row.delivery_id,
    event: row.event,
    outcome: row.outcome as Delivery['outcome'],
    buildId: row.build_id,
    reason: row.reason,
    receivedAt: row.received_at,
    repository: row.repository ?? null,
    ref: row.ref ?? null,
  };
}

export function patchColumns(patch: BuildPatch): Updateable<BuildsTable> {
  const columns: Record<string, unknown> = {};
  if (patch.reason !== undefined) columns.reason = patch.reason;
  if (patch.steps !== undefined) columns.steps = JSON.stringify(patch.steps);
  if (patch.artifact !== undefined) columns.artifact = patch.artifact;
  if (patch.image !== undefined) columns.image = patch.image;
  if (patch.boot !== undefined) columns.boot = patch.boot ? JSON.stringify(patch.boot) : null;
  if (patch.logPath !== undefined) columns.log_path = patch.logPath;
  if (patch.startedAt !== undefined) columns.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) columns.finished_at = patch.finishedAt;
  if (patch.engine !== undefined) columns.engine = patch.engine;
  if (patch.cause !== undefined) columns.cause = patch.cause;
  return columns as Updateable<BuildsTable>;
}
