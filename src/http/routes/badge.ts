/** `GET /badge/<owner>/<name>.svg?branch=master`: the state of a branch's newest build, for READMEs. */
import type { FastifyInstance } from 'fastify';
import { isRepositoryName } from '../../domain/repository.js';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { renderBadge } from '../views/badge.js';

export function registerBadgeRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { owner: string; file: string }; Querystring: { branch?: string } }>(
    '/badge/:owner/:file',
    async (request, reply) => {
      const match = /^(.+)\.svg$/.exec(request.params.file);
      const repository = `${request.params.owner}/${match?.[1] ?? ''}`;
      if (!match || !isRepositoryName(repository))
        throw new AppError('NOT_FOUND', 'a badge is /badge/<owner>/<name>.svg');
      const branch = request.query.branch ?? 'master';
      if (branch === '' || branch.length > 255)
        throw new AppError('BAD_REQUEST', 'branch must be 1-255 characters');
      const build = await deps.store.latestForRef(repository, 'branch', branch);
      // "unknown" rather than 404: an image that fails to load shows nothing useful in a README.
      return reply
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(renderBadge(build?.state ?? null));
    },
  );
}
