/** `GET /metrics` (Prometheus text format) and the webhook latency it reports. */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';

export function registerMetricsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/build/:project/hook') {
      deps.metrics.webhookDuration.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    }
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
}
