/** `GET /healthz`: ok, or degraded with why (the build engine is down). */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';

export function registerHealthRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const problems: string[] = [];
    try {
      await deps.executor.ping();
    } catch (error) {
      problems.push((error as Error).message);
    }
    try {
      await deps.store.countByState();
    } catch (error) {
      problems.push(`store: ${(error as Error).message}`);
    }
    const body = {
      status: problems.length === 0 ? 'ok' : 'degraded',
      problems,
      paused: deps.scheduler.isPaused,
    };
    return reply.status(problems.length === 0 ? 200 : 503).send(body);
  });
}
