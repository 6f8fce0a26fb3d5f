/** `buildApp(deps)`: the HTTP service, without opening a port (tests drive it with inject()). */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppDeps } from './app-deps.js';
import { BODY_LIMIT, registerRawBodies } from './body.js';
import { registerErrorHandling } from './error-handler.js';
import { registerAssetRoutes } from './routes/assets.js';
import { registerBuildRoutes } from './routes/builds.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoute } from './routes/health.js';
import { registerHookRoute } from './routes/hook.js';
import { registerKernelRoute } from './routes/kernels.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerMonitorRoutes } from './routes/monitor.js';

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: !deps.config.debug }),
    requestIdHeader: 'x-request-id',
    routerOptions: { maxParamLength: 20_000 },
  });
  registerRawBodies(app);
  registerErrorHandling(app);
  app.get('/', async (_request, reply) => reply.redirect('/monitor'));
  registerHookRoute(app, deps);
  registerBuildRoutes(app, deps);
  registerLogRoutes(app, deps);
  registerHealthRoute(app, deps);
  registerMonitorRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerAssetRoutes(app, deps);
  registerKernelRoute(app, deps);
  registerMetricsRoute(app, deps);
  return app;
}
