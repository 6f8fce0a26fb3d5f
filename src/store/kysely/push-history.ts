/** What the store knows of a ref's earlier pushes, for telling a replay (domain/push-replay.ts). */
import type { Transaction } from 'kysely';
import type { NewBuild } from '../../domain/build.js';
import type { PushHistory } from '../../domain/push-replay.js';
import type { Database } from './schema.js';

export async function pushHistory(
  trx: Transaction<Database>,
  input: Pick<NewBuild, 'repository' | 'refType' | 'branch' | 'commit'>,
  bodySha256: string,
): Promise<PushHistory> {
  const sameBody = await trx
    .selectFrom('builds')
    .select('id')
    .where('body_sha256', '=', bodySha256)
    .orderBy('id', 'asc')
    .limit(1)
    .executeTakeFirst();
  const ofRef = trx
    .selectFrom('builds')
    .where('repository', '=', input.repository)
    .where('ref_type', '=', input.refType)
    .where('branch', '=', input.branch)
    .orderBy('id', 'desc')
    .limit(1);
  const sameCommit = await ofRef.select('id').where('commit_sha', '=', input.commit).executeTakeFirst();
  const latest = await ofRef.select(['id', 'commit_sha']).executeTakeFirst();
  return {
    sameBody: sameBody?.id ?? null,
    sameCommit: sameCommit?.id ?? null,
    latest: latest ? { id: latest.id, commit: latest.commit_sha } : null,
  };
}
