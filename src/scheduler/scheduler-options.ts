/** What a Scheduler is made with (service.ts builds it from the config). */
import type { Logger } from 'pino';
import type { RuleLookup } from '../domain/rule.js';
import type { EnginePool } from '../executor/engine-pool.js';
import type { Executor } from '../executor/executor.js';
import type { EventBus } from '../live/event-bus.js';
import type { PipelineSetup } from './execute-build.js';
import type { QueueLimits, Store } from '../store/store.js';

/** Leases and the shared queue (config `replicas`); the defaults suit one replica or many. */
export const LEASE_DEFAULTS = { leaseMs: 30_000, renewMs: 5000, pollMs: 1000, cancelWaitMs: 5000 };

export interface SchedulerOptions {
  store: Store;
  executor: Executor;
  bus: EventBus;
  logger: Logger;
  /** The pipeline's own dependencies; it shares the store, rules and tmpDirectory above. */
  pipeline: PipelineSetup;
  /** Read at enqueue and launch time: a reload changes the next build, never a running one. */
  rules: RuleLookup;
  concurrency: number;
  logsDirectory: string;
  tmpDirectory: string;
  requeueInterrupted: number;
  /** Bounds on what `enqueue` accepts (recovery re-queues without them: those were accepted). */
  queueLimits?: QueueLimits;
  /** How often to look again while the engine or the database is down. */
  retryMs?: number;
  /**
   * The engines builds run on (docs/scale-out.md); absent: `executor` alone, as engine `local`
   * with capacity `concurrency`.
   */
  engines?: EnginePool;
  /** The registry's tags of an image repository, to prefer an engine holding a build's base image. */
  registryTags?: (repo: string) => Promise<string[]>;
  /** How long a claimed build stays this replica's without renewal (default 30 s). */
  leaseMs?: number;
  /** How often leases are renewed and the replica heartbeats (default 5 s). */
  renewMs?: number;
  /** How often the shared queue, stop requests and expired leases are looked at (default 1 s). */
  pollMs?: number;
  /** How long a cancel of a build another replica runs waits for it to end (default 5 s). */
  cancelWaitMs?: number;
}
