/**
 * `Store.createBuild`'s transaction (store.ts has the contract): the delivery claimed first, a
 * replayed push answered with the build it made, else the build and its commit list inserted and
 * the ref's older queued builds superseded, within the queue limits. Run by the group commit
 * (SQLite) or a transaction of its own (PostgreSQL), from kysely-store.ts.
 */
import type { Transaction } from 'kysely';
import { groupNames, type NewBuild } from '../../domain/build.js';
import { gitRef } from '../../domain/git-ref.js';
import { answeringBuild } from '../../domain/push-replay.js';
import type { CreatedBuild, QueueLimits } from '../store.js';
import type { CreateBuildQueries } from './create-build-queries.js';
import { pushHistory } from './push-history.js';
import { applyQueueLimits } from './queue-limits.js';
import { pullColumns, toBuild, toBuildCommitsOnRead, toBuildWith } from './rows.js';
import { rowsOf } from './run-compiled.js';
import type { Database } from './schema.js';

/** What the transaction needs of its store: the compiled statements and the database's locks. */
export interface PushWrites {
  queries: CreateBuildQueries;
  /** Makes the queue limits' count-then-change atomic between servers (kysely-store.ts lockQueue). */
  lockQueue: (trx: Transaction<Database>) => Promise<void>;
  /** Serialises pushes of one ref where the database does not already (kysely-store.ts lockRef). */
  lockRef: (trx: Transaction<Database>, key: string) => Promise<void>;
}

export async function storeBuild(
  trx: Transaction<Database>,
  writes: PushWrites,
  input: NewBuild,
  limits: QueueLimits | undefined,
  now: string,
): Promise<CreatedBuild> {
  if (limits) await writes.lockQueue(trx);
  const names = groupNames(input);
  await writes.lockRef(trx, `${names.join(',')} ${input.refType} ${input.branch}`);
  if (input.deliveryId) {
    // Claim the delivery id first. A concurrent transaction with the same id waits on this row
    // (PostgreSQL) or runs after this one (SQLite), then finds the build made here.
    const claimed = await rowsOf(
      trx,
      writes.queries.claimDelivery.with({
        delivery_id: input.deliveryId,
        event: input.refType === 'pull' ? 'pull_request' : 'push',
        received_at: now,
        repository: input.repository,
        ref: gitRef(input.refType, input.branch),
      }),
    );
    if (claimed.length === 0) {
      const [seen] = await rowsOf(trx, writes.queries.findDelivery.with({ deliveryId: input.deliveryId }));
      if (!seen) throw new Error(`delivery ${input.deliveryId} vanished inside its transaction`);
      if (seen.build_id != null) return answer(trx, writes.queries, seen.build_id);
      // Ignored before (say, its repository was not configured yet): it builds now, and is
      // listed as arriving now.
      await trx
        .updateTable('deliveries')
        .set({ received_at: now, repository: input.repository, ref: gitRef(input.refType, input.branch) })
        .where('delivery_id', '=', input.deliveryId)
        .execute();
    }
  }
  if (input.push) {
    const answering = answeringBuild(
      { ...input.push, commit: input.commit },
      await pushHistory(trx, writes.queries, input, input.push),
    );
    if (answering !== null) {
      if (input.deliveryId) await linkDelivery(trx, writes.queries, input.deliveryId, answering);
      return answer(trx, writes.queries, answering);
    }
  }
  const [row] = await rowsOf(
    trx,
    writes.queries.insertBuild.with({
      project: input.project,
      repository: input.repository,
      ref_type: input.refType,
      branch: input.branch,
      commit_sha: input.commit,
      kind: input.kind,
      state: 'queued',
      pusher: input.pusher,
      delivery_id: input.deliveryId,
      body_sha256: input.push?.bodySha256 ?? null,
      steps: '[]',
      retry_of: input.retryOf ?? null,
      attempt: input.attempt ?? 1,
      ...pullColumns(input.refType === 'pull' ? input.pull : null),
      created_at: now,
    }),
  );
  if (!row) throw new Error('INSERT … RETURNING gave no row');
  if (input.commits.length > 0)
    await rowsOf(
      trx,
      writes.queries.insertCommits.with({ build_id: row.id, commits: JSON.stringify(input.commits) }),
    );
  if (input.deliveryId) await linkDelivery(trx, writes.queries, input.deliveryId, row.id);
  const superseded = await rowsOf(
    trx,
    writes.queries.supersede(names, {
      refType: input.refType,
      branch: input.branch,
      id: row.id,
      reason: `superseded by #${row.id}`,
      now,
    }),
  );
  if (limits) {
    const limited = await applyQueueLimits(trx, writes.queries, row, names, limits, superseded.length, now);
    // Not spread into push(): a lowered limit may supersede more builds than a call takes arguments.
    for (const build of limited) superseded.push(build);
  }
  return {
    build: toBuildWith(row, input.commits),
    created: true,
    superseded: superseded.map(toBuildCommitsOnRead),
  };
}

async function answer(
  trx: Transaction<Database>,
  queries: CreateBuildQueries,
  buildId: number,
): Promise<CreatedBuild> {
  const [row] = await rowsOf(trx, queries.build.with({ id: buildId }));
  if (!row) throw new Error(`build #${buildId} not found inside its transaction`);
  return { build: toBuild(row), created: false, superseded: [] };
}

async function linkDelivery(
  trx: Transaction<Database>,
  queries: CreateBuildQueries,
  deliveryId: string,
  buildId: number,
): Promise<void> {
  await rowsOf(trx, queries.linkDelivery.with({ deliveryId, buildId }));
}
