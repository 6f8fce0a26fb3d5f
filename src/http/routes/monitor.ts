/** `/monitor`: the server-rendered pages; live updates come from web/*.ts over SSE. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { StoreUnavailableError } from '../../store/store-unavailable.js';
import type { AppDeps } from '../app-deps.js';
import { renderBuildPage, renderLists, renderMonitor, type MonitorData } from '../views/monitor-page.js';
import { parseBuildId } from './builds.js';

/** The lists, or (the database being away) empty lists with a banner saying why. */
export async function loadMonitorData(deps: AppDeps): Promise<MonitorData> {
  try {
    return await readMonitorData(deps);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    return {
      running: [],
      queued: [],
      recent: [],
      paused: deps.scheduler.isPaused,
      engineProblem: deps.scheduler.engineProblem,
      databaseProblem: error.reason,
    };
  }
}

async function readMonitorData(deps: AppDeps): Promise<MonitorData> {
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
  // 503 while the database is away, with the page (banner included) as the body.
  app.get('/monitor', async (_request, reply) => {
    const data = await loadMonitorData(deps);
    return reply
      .status(data.databaseProblem ? 503 : 200)
      .type('text/html; charset=utf-8')
      .send(renderMonitor(data));
  });

  app.get('/monitor/fragment', async (_request, reply) => {
    const data = await loadMonitorData(deps);
    return reply
      .status(data.databaseProblem ? 503 : 200)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderLists(data).value);
  });

  app.get<{ Params: { id: string } }>('/monitor/builds/:id', async (request, reply) => {
    const build = await deps.store.getBuild(parseBuildId(request.params.id));
    if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
    return reply.type('text/html; charset=utf-8').send(renderBuildPage(build, !deps.config.token));
  });
}
