/** Build data: status, history, one build. The write endpoints are in build-controls.ts. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { AppDeps } from '../app-deps.js';
import { presentBuild } from '../present.js';

export function parseBuildId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new AppError('BAD_REQUEST', 'build id must be a positive integer');
  return Number(raw);
}

export async function loadBuild(store: Store, raw: string) {
  const build = await store.getBuild(parseBuildId(raw));
  if (!build) throw new AppError('NOT_FOUND', `no build #${raw}`);
  return build;
}

export function registerBuildRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, store, scheduler } = deps;
  const present = (build: Parameters<typeof presentBuild>[0]) =>
    presentBuild(
      build,
      config.publicUrl,
      build.state === 'queued' ? scheduler.waitReason(build.id) : undefined,
    );

  app.get('/build/status', async () => {
    const active = await store.listActive();
    return {
      paused: scheduler.isPaused,
      engine: scheduler.engineProblem ? { ok: false, problem: scheduler.engineProblem } : { ok: true },
      running: active.filter((b) => b.state === 'running').map(present),
      queued: active.filter((b) => b.state === 'queued').map(present),
    };
  });

  app.get<{ Querystring: { limit?: string; before?: string } }>('/build/history', async (request) => {
    const limit = request.query.limit === undefined ? 50 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new AppError('BAD_REQUEST', 'limit must be 1-500');
    const before = request.query.before === undefined ? undefined : parseBuildId(request.query.before);
    const page = await store.listHistory({ limit, before });
    return {
      builds: page.builds.map(present),
      next:
        page.nextBefore === null
          ? null
          : `${config.publicUrl}/build/history?limit=${limit}&before=${page.nextBefore}`,
    };
  });

  app.get<{ Params: { id: string } }>('/api/builds/:id', async (request) =>
    present(await loadBuild(store, request.params.id)),
  );
}
