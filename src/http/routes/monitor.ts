/** `/monitor`: the server-rendered pages; live updates come from web/*.ts over SSE. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { StoreUnavailableError } from '../../store/store-unavailable.js';
import type { AppDeps } from '../app-deps.js';
import type { CacheReport } from '../../artifacts/cache-report.js';
import { parsePage, type PageQuery } from '../paging.js';
import { renderBuildPage } from '../views/build-page.js';
import { renderRepositoryPage } from '../views/repository-page.js';
import {
  renderListPage,
  renderLists,
  renderMonitor,
  layout,
  type EngineView,
  type MonitorData,
} from '../views/monitor-page.js';
import { deliveryRows, type ServiceSection } from '../views/deliveries-section.js';
import { html } from '../views/html.js';
import { parseDeliveryPage } from './deliveries.js';
import { writesOpenTo } from '../write-access.js';
import { existsSync } from 'node:fs';
import { isRepositoryName } from '../../domain/repository.js';
import { parseBuildId } from '../params.js';
import { waitReason } from '../wait-reason.js';

/** Queued builds on the monitor itself; the rest are one link away, so 5000 queued stay cheap. */
export const MONITOR_QUEUED = 50;
const MONITOR_RECENT = 30;

const MONITOR_DELIVERIES = 10;
/** The page does not wait longer for cache sizes (the engine measures every volume). */
const CACHE_SIZES_WAIT_MS = 2000;

/** The cache report, or null when it is not there within `ms` or fails (the page says so). */
async function cachesWithin(deps: AppDeps, ms: number): Promise<CacheReport | null> {
  if (!deps.caches) return null;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([deps.caches().catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function loadServiceSection(deps: AppDeps): Promise<ServiceSection> {
  const page = await deps.store.listDeliveries({ limit: MONITOR_DELIVERIES });
  const config = deps.configs.current();
  return {
    deliveries: page.deliveries,
    deliveriesNext: page.nextBefore,
    config: { revision: config.revision, loadedAt: deps.configs.loadedAt, source: config.source },
  };
}

/** The lists, or (the database being away) empty lists with a banner saying why. */
export async function loadMonitorData(deps: AppDeps): Promise<MonitorData> {
  try {
    return await readMonitorData(deps);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    return {
      running: [],
      queued: [],
      queuedCount: 0,
      queuedNext: null,
      recent: [],
      recentNext: null,
      paused: deps.scheduler.isPaused,
      engineProblem: deps.scheduler.engineProblem,
      databaseProblem: error.reason,
      engines: engineViews(deps),
      webUrl: deps.config.github.webUrl,
    };
  }
}

async function readMonitorData(deps: AppDeps): Promise<MonitorData> {
  const [running, queued, history, queuedCount] = await Promise.all([
    deps.store.listRunning(),
    deps.store.listQueued({ limit: MONITOR_QUEUED }),
    deps.store.listHistory({ limit: MONITOR_RECENT }),
    deps.store.countQueued(),
  ]);
  return {
    running,
    queued: queued.builds.map((build) => ({ build, waiting: waitReason(deps.scheduler, build) })),
    queuedCount,
    queuedNext: queued.nextAfter,
    recent: history.builds,
    recentNext: history.nextBefore,
    paused: deps.scheduler.isPaused,
    engineProblem: deps.scheduler.engineProblem,
    engines: engineViews(deps),
    webUrl: deps.config.github.webUrl,
    start: {
      hookUrl: `${deps.config.publicUrl}/build/<project>/hook`,
      repositories: [...deps.config.rules.keys()],
    },
  };
}

/** Each engine with the builds running on it now (also served as `GET /api/engines`). */
export function engineViews(deps: AppDeps): EngineView[] {
  const running = deps.scheduler.runningPerEngine();
  return deps.scheduler.engines.statuses().map((e) => ({ ...e, running: running.get(e.name) ?? 0 }));
}

export function registerMonitorRoutes(app: FastifyInstance, deps: AppDeps): void {
  // 503 while the database is away, with the page (banner included) as the body.
  app.get('/api/engines', async () => ({ engines: engineViews(deps) }));

  app.get('/monitor', async (request, reply) => {
    const data = await loadMonitorData(deps);
    if (!data.databaseProblem) data.service = await loadServiceSection(deps);
    data.run = {
      repositories: [...deps.configs.current().rules.keys()],
      canControl: writesOpenTo(deps.config.apiTokens, request),
    };
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

  app.get<{ Querystring: PageQuery }>('/monitor/queued', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, MONITOR_QUEUED, 500);
    const page = await deps.store.listQueued({ limit, after: cursor });
    const queued = page.builds.map((build) => ({ build, waiting: waitReason(deps.scheduler, build) }));
    const next = page.nextAfter === null ? null : `/monitor/queued?limit=${limit}&cursor=${page.nextAfter}`;
    return reply
      .type('text/html; charset=utf-8')
      .send(renderListPage('Queued builds', { queued }, next, deps.config.github.webUrl));
  });

  app.get<{ Querystring: PageQuery }>('/monitor/history', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, MONITOR_RECENT, 500);
    const page = await deps.store.listHistory({ limit, before: cursor });
    const next =
      page.nextBefore === null ? null : `/monitor/history?limit=${limit}&cursor=${page.nextBefore}`;
    return reply
      .type('text/html; charset=utf-8')
      .send(renderListPage('Finished builds', { recent: page.builds }, next, deps.config.github.webUrl));
  });

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/monitor/deliveries',
    async (request, reply) => {
      const { limit, before } = parseDeliveryPage(request.query, MONITOR_DELIVERIES);
      const page = await deps.store.listDeliveries({ limit, before });
      const next =
        page.nextBefore === null
          ? null
          : `/monitor/deliveries?limit=${limit}&cursor=${encodeURIComponent(page.nextBefore)}`;
      const body = html`<h1>Webhook deliveries</h1>
        ${deliveryRows(page.deliveries)}
        <p class="more">
          <a href="/monitor">back to the monitor</a>
          ${next ? html` · <a id="next-page" href="${next}">older deliveries</a>` : ''}
        </p>`;
      return reply.type('text/html; charset=utf-8').send(layout('Webhook deliveries', body));
    },
  );

  app.get<{ Params: { id: string } }>('/monitor/builds/:id', async (request, reply) => {
    const build = await deps.store.getBuild(parseBuildId(request.params.id));
    if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
    return reply.type('text/html; charset=utf-8').send(
      renderBuildPage({
        build,
        canControl: writesOpenTo(deps.config.apiTokens, request),
        webUrl: deps.config.github.webUrl,
        logPresent: build.logPath !== null && existsSync(build.logPath),
        retentionKeep: deps.config.retention.keep,
      }),
    );
  });

  // One repository's whole history, newest first, optionally of one branch (keyset paged).
  app.get<{ Params: { owner: string; name: string }; Querystring: PageQuery & { branch?: string } }>(
    '/monitor/:owner/:name',
    async (request, reply) => {
      const repository = `${request.params.owner}/${request.params.name}`;
      if (!isRepositoryName(repository)) throw new AppError('NOT_FOUND', `no repository ${repository}`);
      const branch = request.query.branch?.trim() || undefined;
      if (branch !== undefined && branch.length > 255)
        throw new AppError('BAD_REQUEST', 'branch is too long');
      const { limit, cursor } = parsePage(request.query, MONITOR_RECENT, 500);
      const page = await deps.store.listRepositoryBuilds({ repository, branch, limit, before: cursor });
      const configured = deps.config.rules.has(repository);
      if (!configured && page.builds.length === 0 && cursor === undefined && branch === undefined)
        throw new AppError('NOT_FOUND', `no repository ${repository} is configured or was built`);
      const query = new URLSearchParams({ ...(branch ? { branch } : {}), limit: String(limit) });
      const next =
        page.nextBefore === null
          ? null
          : `/monitor/${repository}?${query.toString()}&cursor=${page.nextBefore}`;
      return reply.type('text/html; charset=utf-8').send(
        renderRepositoryPage({
          repository,
          branch: branch ?? null,
          builds: page.builds,
          next,
          webUrl: deps.config.github.webUrl,
          configured,
          // Only for a rule with caches: the others have no section (GET /api/caches lists all).
          caches: deps.configs.rules.get(repository)?.cache?.length
            ? await cachesWithin(deps, CACHE_SIZES_WAIT_MS)
            : undefined,
        }),
      );
    },
  );
}
