/**
 * What the scheduler does when an engine changes state. Down: its running builds are interrupted
 * (and re-queued once, on another engine; recovery.ts). Up again: our containers it still holds
 * that belong to no build running there are removed (those of the interrupted builds).
 */
import type { Logger } from 'pino';
import type { Build } from '../domain/build.js';
import type { Engine } from '../executor/engine.js';

export interface EngineRun {
  build: Build;
  engine: Engine;
}

export interface EngineEventDeps<R extends EngineRun> {
  logger: Logger;
  runs: () => Iterable<R>;
  interrupt: (run: R, reason: string) => void;
}

export function onEngineChange<R extends EngineRun>(
  engine: Engine,
  up: boolean,
  deps: EngineEventDeps<R>,
): void {
  if (up) {
    deps.logger.info(`engine ${engine.name} answers again`);
    const running = new Set<number>();
    for (const run of deps.runs()) if (run.engine === engine) running.add(run.build.id);
    removeStraysLater(engine, (id) => running.has(id), deps.logger);
    return;
  }
  deps.logger.error(`engine ${engine.name} marked down: ${engine.reason}`);
  for (const run of deps.runs())
    if (run.engine === engine)
      deps.interrupt(run, `interrupted: engine ${engine.name} is down (${engine.reason})`);
}

/**
 * Removes our containers on `engine` whose build is not running there (`running(id)` is asked
 * for each container, when it is looked at); failures are logged, never thrown.
 */
export function removeStraysLater(engine: Engine, running: (id: number) => boolean, logger: Logger): void {
  const remove = async () => {
    for (const container of await engine.executor.listManaged()) {
      if (container.buildId !== null && running(container.buildId)) continue;
      await engine.executor.destroy(container.id);
    }
  };
  remove().catch((error: unknown) =>
    logger.warn({ err: error }, `could not remove leftover containers on engine ${engine.name}`),
  );
}
