/**
 * The queue's bounds, applied inside `createBuild`'s transaction after the new build is inserted,
 * so the count and the change are one atomic step (PostgreSQL: under a transaction-scoped
 * advisory lock taken by the caller; SQLite: one writer at a time).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { AppError } from '../../errors.js';
import type { QueueLimits } from '../store.js';
import type { BuildsTable, Database } from './schema.js';
import type { CreateBuildQueries } from './create-build-queries.js';
import { rowsOf } from './run-compiled.js';
import { commitsColumn, type BuildRow } from './rows.js';

/** Ids in one `IN (…)` list: well under any database's limit on a statement's parameters. */
const IDS_PER_STATEMENT = 1000;

/** Queued builds, of one repository or in all: a range of an index either way. */
export async function countQueued(
  db: Kysely<Database>,
  repository?: string | readonly string[],
): Promise<number> {
  let query = db
    .selectFrom('builds')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('state', '=', 'queued');
  if (typeof repository === 'string') query = query.where('repository', '=', repository);
  else if (repository !== undefined) query = query.where('repository', 'in', repository);
  return Number((await query.executeTakeFirstOrThrow()).count);
}

/**
 * Supersedes the oldest queued builds of `added`'s repository past `limits.perRepository`, then
 * refuses (throws QUEUE_FULL, which rolls the transaction back) when the queue grew past
 * `limits.total`. `alreadySuperseded` builds left the queue for `added`: a push that replaces one
 * does not grow the queue and is never refused.
 */
export async function applyQueueLimits(
  trx: Transaction<Database>,
  queries: CreateBuildQueries,
  added: Selectable<BuildsTable>,
  /** `added`'s repository and its other names (NewBuild.names): one repository here. */
  names: readonly string[],
  limits: QueueLimits,
  alreadySuperseded: number,
  now: string,
): Promise<BuildRow[]> {
  const superseded: BuildRow[] = [];
  const [counted] = await rowsOf(trx, queries.countQueued(names, {}));
  const excess = Number(counted?.count ?? 0) - limits.perRepository;
  // A build awaiting approval (a fork's PR: anyone can open one) only ever replaces others like it.
  const awaiting = added.pull_approval === 'awaiting';
  if (excess > 0) {
    const base = typeof limits.base === 'string' ? [limits.base] : limits.base;
    let victims = trx
      .selectFrom('builds')
      .select('id')
      .where('repository', 'in', names)
      .where('state', '=', 'queued')
      .where('id', '<', added.id)
      // Fork pull requests awaiting approval go first: anyone can open them, and a flood of them
      // must not push a repository's own queued builds out.
      .orderBy((eb) => eb.case().when('pull_approval', '=', 'awaiting').then(0).else(1).end());
    if (base !== undefined) {
      // The same test as the scheduler's (scheduler/plan-queue.ts): a full build of the base
      // repository on the same branch, queued or running.
      victims = victims.orderBy((eb) =>
        eb
          .case()
          .when(
            eb.exists(
              eb
                .selectFrom('builds as base')
                .select('base.id')
                .where('base.repository', 'in', base)
                .whereRef('base.branch', '=', 'builds.branch')
                .where('base.kind', '=', 'full')
                .where('base.state', 'in', ['queued', 'running']),
            ),
          )
          .then(1)
          .else(0)
          .end(),
      );
    }
    if (awaiting) victims = victims.where('pull_approval', '=', 'awaiting');
    const oldest = await victims.orderBy('id', 'asc').limit(excess).execute();
    // In slices: a limit lowered under a long queue can supersede more builds at once than a
    // statement takes parameters (SQLite 32766, PostgreSQL 65535), which failed every push after.
    for (let from = 0; from < oldest.length; from += IDS_PER_STATEMENT) {
      const ids = oldest.slice(from, from + IDS_PER_STATEMENT).map((b) => b.id);
      superseded.push(
        ...(await trx
          .updateTable('builds')
          .set({
            state: 'superseded',
            reason: `queue limit (${limits.perRepository}) for ${added.repository} reached; superseded by #${added.id}`,
            finished_at: now,
          })
          .where('id', 'in', ids)
          .where('state', '=', 'queued')
          .returningAll()
          .returning(commitsColumn)
          .execute()),
      );
    }
    if (awaiting && superseded.length < excess)
      throw new AppError(
        'QUEUE_FULL',
        `${added.repository} has ${limits.perRepository} queued builds of its own: a pull request awaiting approval does not push them out; nothing was stored, retry later`,
      );
  }
  if (alreadySuperseded + superseded.length === 0) {
    const queued = await countQueued(trx);
    if (queued > limits.total) {
      throw new AppError(
        'QUEUE_FULL',
        `the build queue is full (${limits.total} queued builds); nothing was stored, retry later`,
      );
    }
  }
  return superseded;
}
