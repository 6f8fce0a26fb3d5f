/** The planning half of leases (Store.claimBuilds): what the planner sees, and the claim itself. */
import { sql, type Kysely } from 'kysely';
import type { Build, BuildRef } from '../../domain/build.js';
import type { Claim, QueueView } from '../store.js';
import { commitsColumn, patchColumns, startable, toBuild } from './rows.js';
import type { Database } from './schema.js';

/** The whole queue and every replica's running builds, oldest first, as the few columns planning needs. */
export async function readQueueView(db: Kysely<Database>): Promise<QueueView> {
  const rows = await db
    .selectFrom('builds')
    .select(['id', 'repository', 'ref_type', 'branch', 'kind', 'state', 'engine', 'owner', 'pull_approval'])
    .where('state', 'in', ['queued', 'running'])
    .orderBy('id', 'asc')
    .execute();
  const ref = (row: (typeof rows)[number]): BuildRef => ({
    id: row.id,
    repository: row.repository,
    refType: row.ref_type as BuildRef['refType'],
    branch: row.branch,
    kind: row.kind as BuildRef['kind'],
  });
  return {
    // A fork's pull request waiting for approval is not started, so not planned (as listQueuedRefs).
    queued: rows.filter((r) => r.state === 'queued' && r.pull_approval !== 'awaiting').map(ref),
    running: rows
      .filter((r) => r.state === 'running')
      .map((r) => ({ ...ref(r), engine: r.engine ?? null, owner: r.owner ?? null })),
  };
}

/** When a lease taken or renewed now for `leaseMs` ends (ISO): the claim's and the renewal's. */
export function leaseEnd(now: Date, leaseMs: number): string {
  return new Date(now.getTime() + leaseMs).toISOString();
}

/** Moves each chosen build from queued to running, leased to `owner` until `leaseEnd`. */
export async function claimChosen(
  db: Kysely<Database>,
  chosen: readonly Claim[],
  owner: string,
  leaseEnd: string,
): Promise<Build[]> {
  const claimed: Build[] = [];
  for (const { id, patch } of chosen) {
    const row = await db
      .updateTable('builds')
      .set({
        ...patchColumns(patch),
        state: 'running',
        owner,
        lease_expires_at: leaseEnd,
        epoch: sql<number>`epoch + 1`,
        cancel_requested: null,
      })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .where(startable)
      .returningAll()
      .returning(commitsColumn)
      .executeTakeFirst();
    if (row) claimed.push(toBuild(row));
  }
  return claimed;
}
