/** `GET /metrics` (Prometheus text format). The webhook's latency is observed on its route (hook.ts). */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';

export function registerMetricsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
}
