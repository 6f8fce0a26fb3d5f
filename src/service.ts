/** Wires one running service together: store, executor, scheduler, HTTP. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/config.js';
import { DockerExecutor } from './executor/docker/docker-executor.js';
import type { Executor } from './executor/executor.js';
import { buildApp } from './http/app.js';
import { EventBus } from './live/event-bus.js';
import { GitMirrors } from './pipeline/git-mirror.js';
import { Scheduler } from './scheduler/scheduler.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface Service {
  app: FastifyInstance;
  scheduler: Scheduler;
  store: Store;
  bus: EventBus;
  executor: Executor;
  logger: Logger;
  /** Recovers leftovers, starts scheduling and listens; resolves with the address. */
  start(): Promise<string>;
  /** Stops taking new builds, drains within the grace period, closes HTTP and the store. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  executor?: Executor;
  logger?: Logger;
}

export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  for (const dir of [config.dataDirectory, config.kernelTarget, config.logsDirectory, config.tmpDirectory]) {
    await mkdir(dir, { recursive: true });
  }
  const logger = options.logger ?? pino({ level: config.debug ? 'debug' : 'info' });
  const store = await SqliteStore.open(config.databasePath);
  const executor = options.executor ?? new DockerExecutor();
  const bus = new EventBus();
  const mirrors = new GitMirrors(join(config.dataDirectory, 'mirrors'), config.gitUrl);
  const scheduler = new Scheduler({
    store,
    executor,
    bus,
    logger,
    rules: config.rules,
    concurrency: config.concurrency,
    logsDirectory: config.logsDirectory,
    tmpDirectory: config.tmpDirectory,
    requeueInterrupted: config.requeueInterrupted,
    pipeline: {
      executor,
      mirrors,
      kernelTarget: config.kernelTarget,
      tmpDirectory: config.tmpDirectory,
      rules: config.rules,
    },
  });
  const app = buildApp({ config, store, scheduler, mirrors, bus, executor, logger });
  let stopped = false;
  return {
    app,
    scheduler,
    store,
    bus,
    executor,
    logger,
    async start() {
      if (!config.token) {
        logger.warn(
          'NO TOKEN SET: webhooks are accepted without a signature check and write endpoints are open. Set TOKEN.',
        );
      }
      await scheduler.start();
      return app.listen({ port: config.httpPort, host: config.host });
    },
    async stop(graceMs = config.gracePeriodMs) {
      if (stopped) return;
      stopped = true;
      await scheduler.stop(graceMs);
      await app.close();
      await store.close();
    },
  };
}
