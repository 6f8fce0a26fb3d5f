/**
 * `GET /healthz`: ok, or degraded with why (the build engine is down, the database cannot be
 * reached). `database` names the database's state on its own, so a probe can tell which.
 */
import type { FastifyInstance } from 'fastify';
import { StoreUnavailableError } from '../../store/store-unavailable.js';
import type { AppDeps } from '../app-deps.js';

export function registerHealthRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const problems: string[] = [];
    try {
      await deps.executor.ping();
    } catch (error) {
      problems.push((error as Error).message);
    }
    let database = 'ok';
    try {
      await deps.store.countByState();
    } catch (error) {
      database =
        error instanceof StoreUnavailableError
          ? `unreachable: ${error.reason}`
          : `error: ${(error as Error).message}`;
      problems.push(`database ${database}`);
    }
    const body = {
      status: problems.length === 0 ? 'ok' : 'degraded',
      problems,
      database,
      paused: deps.scheduler.isPaused,
    };
    return reply.status(problems.length === 0 ? 200 : 503).send(body);
  });
}
