/**
 * The Store's reads of builds (store.ts has their contract): whole builds, each with its commit
 * list (rows.ts `commitsColumn`), and the few columns the planner and the counts need.
 */
import type { Kysely } from 'kysely';
import {
  BUILD_STATES,
  FINAL_STATES,
  type Build,
  type BuildRef,
  type BuildState,
  type RefType,
} from '../../domain/build.js';
import type { HistoryPage, QueuedPage, Store } from '../store.js';
import { commitsColumn, startable, toBuild } from './rows.js';
import type { Database } from './schema.js';

/** Every column of `builds` and the commit list: what a whole Build is read from. */
export const selectBuilds = (db: Kysely<Database>) =>
  db.selectFrom('builds').selectAll().select(commitsColumn);

type BuildQuery = ReturnType<typeof selectBuilds>;

/** One more row than the page asks for tells whether another page follows. */
async function page(query: BuildQuery, limit: number): Promise<{ builds: Build[]; next: number | null }> {
  const rows = await query.limit(limit + 1).execute();
  const builds = rows.slice(0, limit).map(toBuild);
  return { builds, next: rows.length > limit ? (builds.at(-1)?.id ?? null) : null };
}

export class BuildReads {
  constructor(private readonly db: Kysely<Database>) {}

  async getBuild(id: number): Promise<Build | null> {
    const row = await selectBuilds(this.db).where('id', '=', id).executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async listActive(): Promise<Build[]> {
    const rows = await selectBuilds(this.db)
      .where('state', 'in', ['queued', 'running'])
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toBuild);
  }

  async listQueuedRefs(): Promise<BuildRef[]> {
    const rows = await this.db
      .selectFrom('builds')
      .select(['id', 'repository', 'ref_type', 'branch', 'kind'])
      .where('state', '=', 'queued')
      // A fork's pull request waits for approval: not started, so not planned.
      .where(startable)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      repository: row.repository,
      refType: row.ref_type as BuildRef['refType'],
      branch: row.branch,
      kind: row.kind as BuildRef['kind'],
    }));
  }

  async listRunning(): Promise<Build[]> {
    const rows = await selectBuilds(this.db).where('state', '=', 'running').orderBy('id', 'asc').execute();
    return rows.map(toBuild);
  }

  async listQueued({ limit, after }: { limit: number; after?: number }): Promise<QueuedPage> {
    let query = selectBuilds(this.db).where('state', '=', 'queued').orderBy('id', 'asc');
    if (after !== undefined) query = query.where('id', '>', after);
    const { builds, next } = await page(query, limit);
    return { builds, nextAfter: next };
  }

  async listHistory({ limit, before }: { limit: number; before?: number }): Promise<HistoryPage> {
    let query = selectBuilds(this.db)
      .where('state', 'in', [...FINAL_STATES])
      .orderBy('id', 'desc');
    if (before !== undefined) query = query.where('id', '<', before);
    const { builds, next } = await page(query, limit);
    return { builds, nextBefore: next };
  }

  async listRepositoryBuilds({
    repository,
    branch,
    limit,
    before,
  }: Parameters<Store['listRepositoryBuilds']>[0]): Promise<HistoryPage> {
    let query = selectBuilds(this.db).where('repository', '=', repository).orderBy('id', 'desc');
    if (branch !== undefined) query = query.where('branch', '=', branch);
    if (before !== undefined) query = query.where('id', '<', before);
    const { builds, next } = await page(query, limit);
    return { builds, nextBefore: next };
  }

  async latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null> {
    const row = await selectBuilds(this.db)
      .where('repository', '=', repository)
      .where('ref_type', '=', refType)
      .where('branch', '=', branch)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async latestWithArtifact(artifact: string): Promise<Build | null> {
    const row = await selectBuilds(this.db)
      .where('artifact', '=', artifact)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toBuild(row) : null;
  }

  async listWithFiles(): Promise<Build[]> {
    const rows = await selectBuilds(this.db)
      .where('state', 'in', [...FINAL_STATES])
      .where((eb) => eb.or([eb('log_path', 'is not', null), eb('artifact', 'is not', null)]))
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toBuild);
  }

  async countByState(): Promise<Record<BuildState, number>> {
    const rows = await this.db
      .selectFrom('builds')
      .select(['state', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('state')
      .execute();
    const counts = Object.fromEntries(BUILD_STATES.map((s) => [s, 0])) as Record<BuildState, number>;
    for (const row of rows) counts[row.state as BuildState] = Number(row.count);
    return counts;
  }
}
