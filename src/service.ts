/** Wires one running service together: store, executor, scheduler, HTTP. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger, logFormat } from './service-logger.js';
import type { Config } from './config/config.js';
import { ConfigHolder, type ReloadResult } from './config/config-holder.js';
import { loadConfig } from './config/load-config.js';
import { committedRepositories } from './config/committed-repositories.js';
import type { Executor } from './executor/executor.js';
import type { EnginePool } from './executor/engine-pool.js';
import { openEngines } from './executor/open-engines.js';
import { removeStaleTemporaries } from './artifacts/publish-artifact.js';
import { collectGarbage, type GcResult } from './artifacts/retention.js';
import { pruneCaches } from './artifacts/cache-retention.js';
import { cacheReporter } from './artifacts/cache-report.js';
import { CommitStatusReporter } from './forge/github/commit-status.js';
import { buildApp } from './http/app.js';
import { Metrics } from './metrics.js';
import { securityNotices } from './config/security-notices.js';
import { serviceInstance } from './config/service-instance.js';
import { EventBus } from './live/event-bus.js';
import type { PgRelay } from './live/pg-relay.js';
import { GitMirrors } from './pipeline/git-mirror.js';
import { Scheduler } from './scheduler/scheduler.js';
import { isPostgresUrl, openStore } from './store/open-store.js';
import type { DatabaseHealth } from './store/database-health.js';
import { lockSqliteDatabase, type SqliteLock } from './store/sqlite/single-process-lock.js';
import type { Store } from './store/store.js';

export interface Service {
  app: FastifyInstance;
  scheduler: Scheduler;
  store: Store;
  /** Whether the database answers (down while PostgreSQL is away; SQLite is always up). */
  databaseHealth: DatabaseHealth;
  bus: EventBus;
  /** With PostgreSQL: other replicas' build changes and log progress on `bus`, ours to them. */
  relay: PgRelay | null;
  executor: Executor;
  logger: Logger;
  metrics: Metrics;
  statuses: CommitStatusReporter | null;
  /** The config of the moment (rules follow a reload). */
  configs: ConfigHolder;
  /** Reads the config file again; an invalid one keeps the running config (every problem logged). */
  reloadConfig(trigger: string): ReloadResult;
  gc(): Promise<GcResult>;
  /** Recovers leftovers, starts scheduling and listens; resolves with the address. */
  start(): Promise<string>;
  /** Stops taking new builds, drains within the grace period, closes HTTP and the store. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  executor?: Executor;
  /** Engines made by the caller (tests: fake executors); `executor` is then ignored. */
  engines?: EnginePool;
  logger?: Logger;
  /** How often the scheduler looks again while the engine or the database is down (default 5 s). */
  retryMs?: number;
  /** How a reload reads the config (default: the file it came from, with the process environment). */
  loadConfig?: () => Config;
}

export async function createService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  for (const dir of [config.dataDirectory, config.kernelTarget, config.logsDirectory, config.tmpDirectory]) {
    await mkdir(dir, { recursive: true });
  }
  const logger =
    options.logger ??
    createLogger(config.debug ? 'debug' : 'info', logFormat(process.env, Boolean(process.stdout.isTTY)));
  // Before any build of this process can publish: what is there now was left by a killed one.
  const stale = await removeStaleTemporaries(config.kernelTarget);
  if (stale.length > 0) logger.info({ files: stale }, 'removed temporary kernel copies left by a stop');
  // SQLite is one process's database: a second one on the same file refuses to start (a
  // CONFLICT, printed by the CLI as one line) instead of scheduling the same queue twice.
  const sqliteLock: SqliteLock | null = config.databaseUrl.startsWith('sqlite:')
    ? lockSqliteDatabase(resolve(config.databaseUrl.slice('sqlite:'.length)))
    : null;
  // Waits up to database_wait for a PostgreSQL server that is not up yet, one line per attempt;
  // then throws StoreUnavailableError, which the CLI prints as one line.
  const store = await openStore(config.databaseUrl, {
    waitMs: config.databaseWaitMs,
    onAttemptFailed: (line) => logger.warn(`${line}; trying again (database_wait)`),
    onConnectionError: (error) =>
      logger.warn({ err: error }, 'lost a database connection; it is replaced on the next query'),
  }).catch((error: unknown) => {
    sqliteLock?.release();
    throw error;
  });
  store.health.onChange((problem) =>
    problem
      ? logger.error(`database unreachable: ${problem}; webhooks are answered 503 until it is back`)
      : logger.info('database reachable again'),
  );
  const instance = serviceInstance(config);
  // Index ranges, not countByState's read of every build: a scrape costs the same at 100k builds.
  const metrics = new Metrics(async () => ({
    queued: await store.countQueued(),
    running: (await store.listRunning()).length,
  }));
  // A test's executor is the one engine; otherwise the config's engines (one `local` by default).
  const opened = options.engines
    ? { pool: options.engines, registry: null }
    : options.executor
      ? null
      : openEngines(config.engines, {
          registry: config.registry,
          instance,
          committedRepos: committedRepositories(config.rules),
          observeTransfer: (kind, seconds) => metrics.imageTransfer.observe({ kind }, seconds),
        });
  const executor = opened ? opened.pool.engines[0]!.executor : options.executor!;
  const registry = opened?.registry ?? null;
  const configs = new ConfigHolder(
    config,
    options.loadConfig ??
      (() => loadConfig({ file: config.source.startsWith('/') ? config.source : undefined })),
  );
  const reloadConfig = (trigger: string): ReloadResult => {
    const result = configs.reload();
    if (result.ok) {
      logger.info(
        {
          trigger,
          revision: result.revision,
          previous: result.previous,
          restartNeeded: result.restartNeeded,
        },
        `config reloaded (${trigger}): revision ${result.revision}` +
          (result.restartNeeded.length > 0
            ? `; needs a restart to apply: ${result.restartNeeded.join(', ')}`
            : ''),
      );
    } else {
      logger.error(
        { trigger, revision: result.revision, problems: result.problems },
        `config reload (${trigger}) refused, still running revision ${result.revision}: ${result.message}; ` +
          result.problems.map((p) => `${p.path || '(top)'}: ${p.message}`).join('; '),
      );
    }
    return result;
  };
  const bus = new EventBus((error) => logger.error({ err: error }, 'an event listener failed'));
  const mirrors = new GitMirrors(join(config.dataDirectory, 'mirrors'), config.gitUrl);
  const scheduler = new Scheduler({
    store,
    executor,
    bus,
    logger,
    rules: configs.rules,
    concurrency: config.concurrency,
    logsDirectory: config.logsDirectory,
    tmpDirectory: config.tmpDirectory,
    requeueInterrupted: config.requeueInterrupted,
    queueLimits: config.queueLimits,
    retryMs: options.retryMs,
    ...config.replicas,
    ...(opened ? { engines: opened.pool } : {}),
    ...(registry ? { registryTags: (repo: string) => registry.tags(repo) } : {}),
    pipeline: { mirrors, kernelTarget: config.kernelTarget, instance },
  });
  metrics.watchEngines(() => scheduler.engines.statuses());
  const statuses = config.github.token
    ? new CommitStatusReporter({
        token: config.github.token,
        apiUrl: config.github.apiUrl,
        context: config.github.context,
        publicUrl: config.publicUrl,
        logger,
        onFailure: () => metrics.statusFailures.inc(),
      })
    : null;
  // Replicas on one PostgreSQL share what they do: each build shows live on all of them.
  // Loaded only then: the PostgreSQL driver is memory an SQLite service never uses.
  const relay = isPostgresUrl(config.databaseUrl)
    ? new (await import('./live/pg-relay.js')).PgRelay({ url: config.databaseUrl, bus, store, logger })
    : null;
  bus.onBuild(({ build, remote }) => {
    // Another replica's build: its metrics and commit status are that replica's to report.
    if (remote) return;
    metrics.observe(build);
    // report() never rejects (a failed status is logged and counted there); caught all the same.
    statuses
      ?.report(build)
      .catch((error: unknown) => logger.warn({ err: error, build: build.id }, 'commit status failed'));
  });
  const databaseHealth = store.health;
  const app = buildApp({
    config,
    configs,
    reloadConfig,
    store,
    databaseHealth,
    scheduler,
    mirrors,
    bus,
    executor,
    logger,
    metrics,
    caches: cacheReporter(
      () => scheduler.engines.up().map((engine) => ({ name: engine.name, executor: engine.executor })),
      store,
    ),
  });
  const gc = async () => {
    const result = await collectGarbage({
      store,
      executor: null,
      kernelTarget: config.kernelTarget,
      keep: config.retention.keep,
      registry: registry ? { client: registry, imageAgeMs: config.retention.imageAgeMs } : null,
    });
    for (const problem of result.problems) logger.warn(`retention: ${problem}`);
    // Untagged images of ours are pruned on every engine that is up.
    for (const engine of scheduler.engines.up()) {
      result.images += await engine.executor.pruneImages().catch((error: unknown) => {
        logger.warn({ err: error }, `retention: could not prune images on engine ${engine.name}`);
        return 0;
      });
    }
    // Caches by age and size on every engine that is up (an engine that is down keeps its own).
    const caches = await pruneCaches({
      engines: scheduler.engines.up().map((engine) => ({ name: engine.name, executor: engine.executor })),
      store,
      rules: configs.rules,
      instance,
      maxBytes: config.caches.maxBytes,
      maxAgeMs: config.caches.maxAgeMs,
      onProblem: (engine, error) =>
        logger.warn({ err: error }, `retention: could not prune build caches on engine ${engine}`),
    });
    result.caches = caches.caches;
    logger.info({ ...result, cacheBytes: caches.bytes }, 'retention: pruned old build files');
    return result;
  };
  let gcTimer: NodeJS.Timeout | null = null;
  let stopped = false;
  return {
    app,
    scheduler,
    store,
    databaseHealth,
    bus,
    relay,
    executor,
    logger,
    metrics,
    statuses,
    configs,
    reloadConfig,
    gc,
    async start() {
      for (const notice of securityNotices(config)) logger.warn(notice);
      // Before the scheduler: what recovery changes is announced once the connection is up.
      relay?.start();
      await scheduler.start();
      gcTimer = setInterval(
        () => void gc().catch((error: unknown) => logger.error({ err: error }, 'retention failed')),
        config.retention.intervalMs,
      );
      gcTimer.unref();
      return app.listen({ port: config.httpPort, host: config.host });
    },
    async stop(graceMs = config.gracePeriodMs) {
      if (stopped) return;
      stopped = true;
      if (gcTimer) clearInterval(gcTimer);
      await scheduler.stop(graceMs);
      await statuses?.drain();
      await app.close();
      await relay?.close();
      await store.close();
      sqliteLock?.release();
    },
  };
}
