/** Build data: status, history, one build. The write endpoints are in build-controls.ts. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { AppDeps } from '../app-deps.js';
import { nextPage, parsePage, type PageQuery } from '../paging.js';
import { parseBuildId } from '../params.js';
import { presentBuild } from '../present.js';
import { waitReason } from '../wait-reason.js';

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
      build.state === 'queued' ? waitReason(scheduler, build) : undefined,
    );

  // Running builds are few (at most `concurrency`); the queue can be long, so it is paged.
  app.get<{ Querystring: PageQuery }>('/build/status', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, 100, 500);
    const [running, queued, queuedCount] = await Promise.all([
      store.listRunning(),
      store.listQueued({ limit, after: cursor }),
      store.countQueued(),
    ]);
    return {
      paused: scheduler.isPaused,
      engine: scheduler.engineProblem ? { ok: false, problem: scheduler.engineProblem } : { ok: true },
      running: running.map(present),
      queued: queued.builds.map(present),
      counts: { running: running.length, queued: queuedCount },
      next: nextPage(reply, `${config.publicUrl}/build/status`, limit, queued.nextAfter),
    };
  });

  app.get<{ Querystring: PageQuery & { before?: string } }>('/build/history', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, 50, 500);
    // `before` is the older name of the cursor; still taken.
    const before =
      cursor ?? (request.query.before === undefined ? undefined : parseBuildId(request.query.before));
    const page = await store.listHistory({ limit, before });
    return {
      builds: page.builds.map(present),
      next: nextPage(reply, `${config.publicUrl}/build/history`, limit, page.nextBefore),
    };
  });

  app.get<{ Params: { id: string } }>('/api/builds/:id', async (request) =>
    present(await loadBuild(store, request.params.id)),
  );
}
