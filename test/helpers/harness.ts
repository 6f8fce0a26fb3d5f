/** A real service in a temporary home: config file, SQLite file, logs, kernels, git repos. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/config.js';
import { isFinal, type Build } from '../../src/domain/build.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { EnginePool } from '../../src/executor/engine-pool.js';
import type { Executor } from '../../src/executor/executor.js';
import { createService, type Service } from '../../src/service.js';

export interface Harness {
  home: string;
  /** The config file (rewrite it, then reload). */
  file: string;
  gitRoot: string;
  config: Config;
  service: Service;
  /** Base URL once `listen()` ran. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  repositories: Record<string, unknown>;
  executor?: Executor;
  /** Several engines (test/unit/engines.test.ts); `executor` is then ignored. */
  engines?: EnginePool;
  /** The webhook secret (`webhook_secret`; the option keeps the seed's name). */
  token?: string;
  /** `api_tokens`: none means writes are answered for loopback clients only. */
  apiTokens?: string[];
  concurrency?: number;
  extra?: Record<string, unknown>;
  /** How often the scheduler looks again while the engine or database is down (default 5 s). */
  retryMs?: number;
  /** Reuse a home (restart tests). */
  home?: string;
  gitRoot?: string;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'ab-home-'));
  const gitRoot = options.gitRoot ?? mkdtempSync(join(tmpdir(), 'ab-git-'));
  const file = join(home, 'autobuilder.yaml');
  writeFileSync(
    file,
    stringify({
      http_port: 0,
      host: '127.0.0.1',
      webhook_secret: options.token ?? '',
      api_tokens: options.apiTokens ?? [],
      kernel_target: join(home, 'kernels'),
      logs_directory: join(home, 'logs'),
      tmp_directory: join(home, 'tmp'),
      data_directory: join(home, 'data'),
      database_url: `sqlite:${join(home, 'data', 'autobuilder.db')}`,
      concurrency: options.concurrency ?? 1,
      git: { url: `${gitRoot}/{repository}.git` },
      repositories: options.repositories,
      ...options.extra,
    }),
  );
  const config = loadConfig({ file, env: {} });
  const service = await createService(config, {
    executor: options.executor,
    engines: options.engines,
    logger: pino({ level: 'silent' }),
    retryMs: options.retryMs,
    // A reload reads the same file the same way (without the process environment).
    loadConfig: () => loadConfig({ file, env: {} }),
  });
  await service.scheduler.start();
  const harness: Harness = {
    home,
    file,
    gitRoot,
    config,
    service,
    url: '',
    async listen() {
      harness.url = await service.app.listen({ port: 0, host: '127.0.0.1' });
      return harness.url;
    },
    async close() {
      await service.stop(0);
    },
  };
  return harness;
}

/**
 * A git fetch the service started in the background (a repository file read at webhook time) may
 * still be writing its `.partial` mirror when a test ends: retried on ENOTEMPTY/EBUSY (rmSync's own
 * retries) rather than failing the test's `after` hook.
 */
export function removeHome(harness: Harness): void {
  const options = { recursive: true, force: true, maxRetries: 10, retryDelay: 50 };
  rmSync(harness.home, options);
  rmSync(harness.gitRoot, options);
}

/** Closes each harness and removes its home; the first close that failed is thrown after all. */
export async function closeHarnesses(harnesses: readonly Harness[]): Promise<void> {
  const failures: unknown[] = [];
  for (const h of harnesses) {
    await h.close().catch((error: unknown) => failures.push(error));
    removeHome(h);
  }
  if (failures.length > 0) throw failures[0];
}

/** Polls until `check` returns a value (not undefined/false), or fails after `ms`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until build `id` reaches a final state and returns it. */
export function waitForFinal(h: Harness, id: number, ms = 20_000): Promise<Build> {
  return waitFor(async () => {
    const build = await h.service.store.getBuild(id);
    return build && isFinal(build.state) ? build : undefined;
  }, ms);
}

/** Queues a build as a push would, without HTTP. */
export async function enqueuePush(
  h: Harness,
  repository: string,
  branch: string,
  commit: string,
): Promise<Build> {
  const { build } = await h.service.scheduler.enqueue({
    project: 't',
    repository,
    refType: 'branch',
    branch,
    commit,
    kind: h.config.rules.get(repository)?.base ? 'incremental' : 'full',
    pusher: null,
    deliveryId: null,
    commits: [],
  });
  return build;
}
