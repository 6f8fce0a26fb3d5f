/** What the store knows of a ref's earlier pushes, for telling a replay (domain/push-replay.ts). */
import type { Transaction } from 'kysely';
import type { NewBuild, PushOrigin } from '../../domain/build.js';
import { replayPossible, type PushHistory } from '../../domain/push-replay.js';
import type { Database } from './schema.js';
import type { CreateBuildQueries } from './create-build-queries.js';
import { rowsOf } from './run-compiled.js';

export async function pushHistory(
  trx: Transaction<Database>,
  queries: CreateBuildQueries,
  input: Pick<NewBuild, 'repository' | 'refType' | 'branch' | 'commit'>,
  push: Pick<PushOrigin, 'before' | 'bodySha256'>,
): Promise<PushHistory> {
  const { bodySha256 } = push;
  const [sameBody] = await rowsOf(trx, queries.sameBody.with({ bodySha256 }));
  const [newest] = await rowsOf(
    trx,
    queries.newestOfRef.with({ repository: input.repository, refType: input.refType, branch: input.branch }),
  );
  const latest = newest ? { id: newest.id, commit: newest.commit_sha } : null;
  // The ref's builds of this commit: an index range up to the ref, then a walk through its history
  // (no index has the commit). Only for the rare push that could be a replay; for the newest
  // build's own commit, that build is the answer.
  let sameCommit: number | null = null;
  if (latest?.commit === input.commit) sameCommit = latest.id;
  else if (replayPossible({ before: push.before, commit: input.commit }, latest))
    sameCommit =
      (
        await trx
          .selectFrom('builds')
          .select('id')
          .where('repository', '=', input.repository)
          .where('ref_type', '=', input.refType)
          .where('branch', '=', input.branch)
          .where('commit_sha', '=', input.commit)
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst()
      )?.id ?? null;
  return { sameBody: sameBody?.id ?? null, sameCommit, latest };
}
