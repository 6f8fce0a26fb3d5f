/**
 * `GET /api/caches`: the build caches on the engines that are up, with their sizes (measured by
 * the engine at most 30 s before) and last use, and the total per repository and engine.
 * `?repository=owner/name` keeps one repository's.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { isRepositoryName } from '../../domain/repository.js';
import type { AppDeps } from '../app-deps.js';

export function registerCacheRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { repository?: string } }>('/api/caches', async (request) => {
    const wanted = request.query.repository;
    if (wanted !== undefined && !isRepositoryName(wanted))
      throw new AppError('BAD_REQUEST', 'repository must be owner/name');
    const report = deps.caches
      ? await deps.caches()
      : { caches: [], measuredAt: new Date().toISOString(), unanswered: [] };
    const caches = report.caches.filter(
      (c) => wanted === undefined || c.repository.toLowerCase() === wanted.toLowerCase(),
    );
    const totals = new Map<
      string,
      { repository: string; engine: string; caches: number; sizeBytes: number }
    >();
    for (const cache of caches) {
      const key = `${cache.engine}\0${cache.repository}`;
      const total = totals.get(key) ?? {
        repository: cache.repository,
        engine: cache.engine,
        caches: 0,
        sizeBytes: 0,
      };
      total.caches += 1;
      total.sizeBytes += cache.sizeBytes ?? 0;
      totals.set(key, total);
    }
    return {
      caches: caches.map((c) => ({
        engine: c.engine,
        repository: c.repository,
        ref: c.ref,
        path: c.path,
        volume: c.volume,
        sizeBytes: c.sizeBytes,
        lastUsedAt: c.lastUsed ? new Date(c.lastUsed).toISOString() : null,
        mounted: c.inUse,
      })),
      repositories: [...totals.values()],
      measuredAt: report.measuredAt,
      unanswered: report.unanswered,
    };
  });
}
