/**
 * `GET /healthz`: ok, or degraded with why (the build engine is down, the database cannot be
 * reached, a rule's boot test needs QEMU and it is not installed). `database` names the database's state on its own, so a probe can tell which.
 */
import type { FastifyInstance } from 'fastify';
import { StoreUnavailableError } from '../../store/store-unavailable.js';
import type { AppDeps } from '../app-deps.js';
import { qemuProblem } from '../../boot/find-qemu.js';

export function registerHealthRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const problems: string[] = [];
    try {
      await deps.executor.ping();
    } catch (error) {
      problems.push((error as Error).message);
    }
    // A rule with a boot test on a host without QEMU: those builds fail until it is installed.
    const boot = qemuProblem(deps.config.rules.values());
    if (boot) problems.push(boot);
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
