/** Raw text logs: by build id, and the latest build of a repository's branch (the historical URL). */
import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Build } from '../../domain/build.js';
import { isRepositoryName } from '../../domain/repository.js';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { searchLog } from '../../live/log-search.js';
import { readLineTimes } from '../../live/log-times.js';
import { parseBuildId } from '../params.js';

const SEARCH_LIMIT = 200;
/** Lines one times request may cover: the build page keeps 5,000, so a page asks once or twice. */
const TIMES_SPAN = 20_000;

function lineNumber(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  if (!/^[1-9]\d{0,14}$/.test(raw))
    throw new AppError('BAD_REQUEST', `${name} must be a line number (from 1)`);
  return Number(raw);
}

function sendLog(reply: FastifyReply, build: Build) {
  void reply
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-build-id', String(build.id))
    .header('x-build-state', build.state)
    .header('cache-control', 'no-store');
  if (!build.logPath || !existsSync(build.logPath)) return reply.send('');
  return reply.send(createReadStream(build.logPath));
}

export function registerLogRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;

  app.get<{ Params: { id: string } }>('/api/builds/:id/log', async (request, reply) => {
    const build = await store.getBuild(parseBuildId(request.params.id));
    if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
    return sendLog(reply, build);
  });

  // Over the whole file: the build page keeps only the last 5,000 lines.
  app.get<{ Params: { id: string }; Querystring: { q?: string } }>(
    '/api/builds/:id/log/search',
    async (request) => {
      const query = request.query.q ?? '';
      if (query.trim() === '' || query.length > 200)
        throw new AppError('BAD_REQUEST', 'q must be 1-200 characters');
      const build = await store.getBuild(parseBuildId(request.params.id));
      if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
      if (!build.logPath || !existsSync(build.logPath)) return { matches: [], truncated: false, log: false };
      return { ...(await searchLog(build.logPath, query, SEARCH_LIMIT)), log: true };
    },
  );

  // When each line arrived (live/log-times.ts): the log itself holds only what the build printed.
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    '/api/builds/:id/log/times',
    async (request) => {
      const from = lineNumber(request.query.from, 1, 'from');
      const to = lineNumber(request.query.to, from + TIMES_SPAN - 1, 'to');
      if (to < from || to - from >= TIMES_SPAN)
        throw new AppError('BAD_REQUEST', `to must be from..from+${TIMES_SPAN - 1}`);
      const build = await store.getBuild(parseBuildId(request.params.id));
      if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
      const startedAt = build.startedAt ? Date.parse(build.startedAt) : null;
      if (!build.logPath || !existsSync(build.logPath)) return { recorded: false, startedAt, times: [] };
      return { ...(await readLineTimes(build.logPath, from, to)), startedAt };
    },
  );

  app.get<{ Params: { owner: string; name: string; '*': string }; Querystring: { refType?: string } }>(
    '/build/logs/:owner/:name/*',
    async (request, reply) => {
      const { owner, name } = request.params;
      // A tag and a branch of one name are two refs: the tag's log only when asked for.
      const refType = request.query.refType ?? 'branch';
      if (refType !== 'branch' && refType !== 'tag')
        throw new AppError('BAD_REQUEST', 'refType must be "branch" or "tag"');
      const branch = request.params['*'];
      const repository = `${owner}/${name}`;
      if (!isRepositoryName(repository)) throw new AppError('BAD_REQUEST', 'repository must be owner/name');
      if (!branch) throw new AppError('BAD_REQUEST', 'missing branch');
      const build = await store.latestForRef(repository, refType, branch);
      if (!build) throw new AppError('NOT_FOUND', `no build of ${repository} ${refType} ${branch}`);
      return sendLog(reply, build);
    },
  );
}
