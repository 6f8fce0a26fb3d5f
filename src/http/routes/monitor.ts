/** `/monitor`: the server-rendered pages; live updates come from web/*.ts over SSE. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { renderBuildPage, renderLists, renderMonitor, type MonitorData } from '../views/monitor-page.js';
import { writesOpenTo } from '../write-access.js';
import { parseBuildId } from './builds.js';

export async function loadMonitorData(deps: AppDeps): Promise<MonitorData> {
  const [active, history] = await Promise.all([
    deps.store.listActive(),
    deps.store.listHistory({ limit: 30 }),
  ]);
  return {
    running: active.filter((b) => b.state === 'running'),
    queued: active
      .filter((b) => b.state === 'queued')
      .map((build) => ({ build, waiting: deps.scheduler.waitReason(build.id) })),
    recent: history.builds,
    paused: deps.scheduler.isPaused,
    engineProblem: deps.scheduler.engineProblem,
  };
}

export function registerMonitorRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/monitor', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderMonitor(await loadMonitorData(deps))),
  );

  app.get('/monitor/fragment', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderLists(await loadMonitorData(deps)).value),
  );

  app.get<{ Params: { id: string } }>('/monitor/builds/:id', async (request, reply) => {
    const build = await deps.store.getBuild(parseBuildId(request.params.id));
    if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
    return reply
      .type('text/html; charset=utf-8')
      .send(renderBuildPage(build, writesOpenTo(deps.config.apiTokens, request)));
  });
}
