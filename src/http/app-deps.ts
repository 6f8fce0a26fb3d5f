/** What the HTTP layer is given by the composition root (src/service.ts) or a test. */
import type { Logger } from 'pino';
import type { CacheReport } from '../artifacts/cache-report.js';
import type { Config } from '../config/config.js';
import type { ConfigHolder, ReloadResult } from '../config/config-holder.js';
import type { Executor } from '../executor/executor.js';
import type { EventBus } from '../live/event-bus.js';
import type { Metrics } from '../metrics.js';
import type { GitMirrors } from '../pipeline/git-mirror.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { DatabaseHealth } from '../store/database-health.js';
import type { Store } from '../store/store.js';

export interface AppDeps {
  /** The config the service was composed with (port, directories, tokens…). */
  config: Config;
  /** The config of the moment: rules, webhook secret, revision (follows a reload). */
  configs: ConfigHolder;
  reloadConfig(trigger: string): ReloadResult;
  store: Store;
  /** Whether the database answers; the monitor's event stream announces each change. */
  databaseHealth?: DatabaseHealth;
  scheduler: Scheduler;
  mirrors: GitMirrors;
  bus: EventBus;
  executor: Executor;
  metrics: Metrics;
  logger: Logger;
  /** Build caches and their sizes on the engines that are up (none given: no caches shown). */
  caches?: () => Promise<CacheReport>;
}
