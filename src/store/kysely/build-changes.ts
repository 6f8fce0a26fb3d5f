/**
 * The Store's changes to a build after it was made (store.ts has their contract): its state,
 * fenced by its lease where one is given; its other columns; leases renewed; a stop asked for; a
 * fork's pull request approved. Each answers the build as it is now, with its commit list.
 */
import { sql, type Kysely } from 'kysely';
import { isFinal, type Build, type BuildState, type StopRequest } from '../../domain/build.js';
import type { BuildPatch, Fence } from '../store.js';
import type { BuildReads } from './build-reads.js';
import { leaseEnd } from './leases.js';
import { commitsColumn, patchColumns, toBuild } from './rows.js';
import type { Database } from './schema.js';

export class BuildChanges {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date,
    private readonly reads: BuildReads,
  ) {}

  async renewLeases(
    owner: string,
    leaseMs: number,
    held: readonly { id: number; epoch: number }[],
  ): Promise<Build[]> {
    if (held.length === 0) return [];
    const rows = await this.db
      .updateTable('builds')
      .set({ lease_expires_at: leaseEnd(this.now(), leaseMs) })
      .where('owner', '=', owner)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>', this.now().toISOString())
      .where((eb) => eb.or(held.map((h) => eb.and([eb('id', '=', h.id), eb('epoch', '=', h.epoch)]))))
      .returningAll()
      .returning(commitsColumn)
      .execute();
    return rows.map(toBuild);
  }

  async requestStop(id: number, stop: StopRequest): Promise<Build | null> {
    const row = await this.db
      .updateTable('builds')
      .set({ cancel_requested: JSON.stringify(stop) })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .returningAll()
      .returning(commitsColumn)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async transition(
    id: number,
    from: readonly BuildState[],
    to: BuildState,
    patch: BuildPatch = {},
    fence?: Fence,
  ): Promise<Build | null> {
    let query = this.db
      .updateTable('builds')
      // A build that ends keeps its owner (who ran it) and drops its lease and stop request.
      .set({
        ...patchColumns(patch),
        state: to,
        ...(isFinal(to) ? { lease_expires_at: null, cancel_requested: null } : {}),
      })
      .where('id', '=', id)
      .where('state', 'in', [...from]);
    if (fence) query = query.where('owner', '=', fence.owner).where('epoch', '=', fence.epoch);
    const row = await query.returningAll().returning(commitsColumn).executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async approve(id: number): Promise<Build | null> {
    const row = await this.db
      .updateTable('builds')
      .set({ pull_approval: 'approved' })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .where('pull_approval', '=', 'awaiting')
      .returningAll()
      .returning(commitsColumn)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async update(id: number, patch: BuildPatch, fence?: Fence): Promise<Build | null> {
    const columns = patchColumns(patch);
    if (Object.keys(columns).length === 0 && !fence) return this.reads.getBuild(id);
    let query = this.db
      .updateTable('builds')
      .set(Object.keys(columns).length === 0 ? { epoch: sql<number>`epoch` } : columns)
      .where('id', '=', id);
    if (fence)
      query = query
        .where('state', '=', 'running')
        .where('owner', '=', fence.owner)
        .where('epoch', '=', fence.epoch);
    const row = await query.returningAll().returning(commitsColumn).executeTakeFirst();
    return row ? toBuild(row) : null;
  }
}
