/** `buildApp(deps)`: the HTTP service, without opening a port (tests drive it with inject()). */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppDeps } from './app-deps.js';
import { BODY_LIMIT, registerJsonBodies } from './body.js';
import { AppError } from '../errors.js';
import { answerClientError, answerFrameworkError, registerErrorHandling } from './error-handler.js';
import { registerAssetRoutes } from './routes/assets.js';
import { registerBadgeRoute } from './routes/badge.js';
import { registerBuildControlRoutes } from './routes/build-controls.js';
import { registerBuildRoutes } from './routes/builds.js';
import { registerConfigRoutes } from './routes/config-routes.js';
import { registerCacheRoutes } from './routes/caches.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoute } from './routes/health.js';
import { registerHookRoute } from './routes/hook.js';
import { registerKernelRoute } from './routes/kernels.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerMonitorRoutes } from './routes/monitor.js';

/** Node checks for overdue requests on an interval (30 s by default); a quarter of the timeout keeps the overshoot small. */
const checkingInterval = (timeoutMs: number) => Math.min(30_000, Math.max(100, Math.floor(timeoutMs / 4)));

export function buildApp(deps: AppDeps): FastifyInstance {
  const { requestTimeoutMs, maxConnections } = deps.config;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: !deps.config.debug }),
    requestIdHeader: 'x-request-id',
    routerOptions: { maxParamLength: 20_000 },
    // Receiving a request (headers and body) is bounded; sending the answer is not, so the SSE
    // streams and log tails stay open for as long as they are read (Node's requestTimeout ends
    // once the request is complete). Fastify's default 0 would keep a trickling client forever.
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout: Math.min(requestTimeoutMs, 10_000),
      connectionsCheckingInterval: checkingInterval(requestTimeoutMs),
    },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Fastify's own 503 while closing has its own format; the hook below answers from the table.
    return503OnClosing: false,
  });
  // Past the cap Node closes a new connection on arrival (no answer: nothing was read yet).
  app.server.maxConnections = maxConnections;
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new AppError('SHUTTING_DOWN', 'the service is stopping');
  });
  registerJsonBodies(app);
  registerErrorHandling(app);
  app.get('/', async (_request, reply) => reply.redirect('/monitor'));
  registerHookRoute(app, deps);
  registerBuildRoutes(app, deps);
  registerBuildControlRoutes(app, deps);
  registerLogRoutes(app, deps);
  registerHealthRoute(app, deps);
  registerMonitorRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerAssetRoutes(app, deps);
  registerKernelRoute(app, deps);
  registerMetricsRoute(app, deps);
  registerDeliveryRoutes(app, deps);
  registerConfigRoutes(app, deps);
  registerBadgeRoute(app, deps);
  registerCacheRoutes(app, deps);
  return app;
}
