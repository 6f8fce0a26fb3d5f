/**
 * `GET /healthz`: ok, or degraded with why (the build engine is down, the database cannot be
 * reached, a rule's boot test needs QEMU and it is not installed). `database` names the database's state on its own, so a probe can tell which.
 */
import type { FastifyInstance } from 'fastify';
import { StoreUnavailableError } from '../../store/store-unavailable.js';
import type { AppDeps } from '../app-deps.js';
import { qemuProblem } from '../../boot/find-qemu.js';
import { ENGINE_HEALTH } from '../../executor/engine-pool.js';

export function registerHealthRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get('/healthz', async (_request, reply) => {
    const problems: string[] = [];
    const engines = deps.scheduler.engines.statuses();
    // Several engines: the pool's view (pinged in the background; a hung one costs no wait here).
    // Some down while one is up: degraded but serving (200); none up: 503.
    let serving = true;
    if (engines.length === 1) {
      // A probe has its answer within the pool's ping deadline, and the ping's request ends with
      // it: a hung engine is "did not answer" in 3 s, not a probe left waiting a minute.
      const deadline = AbortSignal.timeout(ENGINE_HEALTH.pingTimeoutMs);
      try {
        await deps.executor.ping(deadline);
      } catch (error) {
        problems.push(
          deadline.aborted
            ? `build engine did not answer a ping within ${ENGINE_HEALTH.pingTimeoutMs / 1000}s`
            : (error as Error).message,
        );
        serving = false;
      }
    } else {
      for (const engine of engines)
        if (!engine.up) problems.push(`engine ${engine.name} down: ${engine.reason}`);
      serving = engines.some((e) => e.up);
    }
    // A rule with a boot test on a host without QEMU: those builds fail until it is installed.
    const boot = qemuProblem(deps.config.rules.values());
    if (boot) problems.push(boot);
    let database = 'ok';
    try {
      // A round trip on an index range: countByState reads every build (20 ms at 100k here).
      await deps.store.countQueued();
    } catch (error) {
      database =
        error instanceof StoreUnavailableError
          ? `unreachable: ${error.reason}`
          : `error: ${(error as Error).message}`;
      problems.push(`database ${database}`);
      serving = false;
    }
    const body = {
      status: problems.length === 0 ? 'ok' : 'degraded',
      problems,
      database,
      paused: deps.scheduler.isPaused,
      ...(engines.length > 1
        ? { engines: engines.map(({ name, up, reason }) => ({ name, up, reason })) }
        : {}),
    };
    return reply.status(serving ? 200 : 503).send(body);
  });
}
