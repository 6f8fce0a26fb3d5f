/**
 * The queue. Guarantees (each has a test in test/unit/scheduler.test.ts):
 * - an accepted build is persisted before it is acknowledged, and ends in a final state;
 * - a newer push to a ref supersedes the older queued build (and the running one when the rule
 *   says `cancel_running`);
 * - after a restart, builds left `running` are marked `interrupted` and re-queued (once by default);
 *   containers and temp dirs of ours left by a crash are removed;
 * - while the engine is down, builds stay queued and start when it is back;
 * - while the database is away, nothing starts, a build's final state is written when it is back,
 *   and a build's step records are written in order, before its final state.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isFinal, type Build, type BuildRef, type BuildState, type NewBuild } from '../domain/build.js';
import { formatDuration, formatTook } from '../domain/duration.js';
import type { BuildRule } from '../domain/rule.js';
import type { Executor } from '../executor/executor.js';
import { BuildLog } from '../live/build-log.js';
import type { EventBus } from '../live/event-bus.js';
import { runPipeline, type PipelineDeps } from '../pipeline/pipeline.js';
import type { CreatedBuild, QueueLimits, Store } from '../store/store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';
import { planQueue } from './plan-queue.js';
import { StepRecords } from './step-records.js';
import { untilStored } from './until-stored.js';
export { toNewBuild } from './recovery.js';
import { interruptBuild, recoverLeftovers, type RecoveryDeps } from './recovery.js';

export interface SchedulerOptions {
  store: Store;
  executor: Executor;
  bus: EventBus;
  logger: Logger;
  pipeline: PipelineDeps;
  rules: Map<string, BuildRule>;
  concurrency: number;
  logsDirectory: string;
  tmpDirectory: string;
  requeueInterrupted: number;
  /** Bounds on what `enqueue` accepts (recovery re-queues without them: those were accepted). */
  queueLimits?: QueueLimits;
  /** How often to look again while the engine or the database is down. */
  retryMs?: number;
}

interface Stop {
  state: Extract<BuildState, 'cancelled' | 'superseded' | 'failed' | 'interrupted'>;
  reason: string;
}

interface Running {
  build: Build;
  controller: AbortController;
  done: Promise<void>;
}

export class Scheduler {
  private readonly running = new Map<number, Running>();
  private waiting = new Map<number, string>();
  private pumping: Promise<void> | null = null;
  private again = false;
  private paused = false;
  private stopping = false;
  /** Set when the grace period is over: writes still waiting for the database give up. */
  private abandoned = false;
  private retryTimer: NodeJS.Timeout | null = null;
  engineProblem: string | null = null;

  constructor(private readonly options: SchedulerOptions) {}

  /** Recovers from a previous run (crash or stop), then starts what can start. */
  async start(): Promise<void> {
    await recoverLeftovers(this.recoveryDeps());
    this.kick();
  }

  private recoveryDeps(): RecoveryDeps {
    const { store, bus, executor, logger, tmpDirectory, requeueInterrupted } = this.options;
    return { store, bus, executor, logger, tmpDirectory, requeueInterrupted };
  }

  async enqueue(input: NewBuild): Promise<CreatedBuild> {
    const { queueLimits, rules } = this.options;
    const created = await this.options.store.createBuild(
      input,
      queueLimits && { ...queueLimits, base: rules.get(input.repository)?.base },
    );
    if (!created.created) return created;
    this.options.bus.publishBuild(created.build);
    for (const old of created.superseded) this.options.bus.publishBuild(old);
    if (this.options.rules.get(input.repository)?.cancelRunning) {
      for (const run of this.running.values()) {
        if (
          run.build.repository === input.repository &&
          run.build.refType === input.refType &&
          run.build.branch === input.branch
        ) {
          run.controller.abort({
            state: 'superseded',
            reason: `superseded by #${created.build.id}`,
          } satisfies Stop);
        }
      }
    }
    this.kick();
    return created;
  }

  /** Cancels a queued or running build; returns it after the change (null when it is unknown). */
  async cancel(id: number, reason = 'cancelled'): Promise<Build | null> {
    const run = this.running.get(id);
    if (run) {
      run.controller.abort({ state: 'cancelled', reason } satisfies Stop);
      await run.done;
      return this.options.store.getBuild(id);
    }
    const cancelled = await this.options.store.transition(id, ['queued'], 'cancelled', {
      reason,
      finishedAt: new Date().toISOString(),
    });
    if (cancelled) {
      this.options.bus.publishBuild(cancelled);
      this.kick();
      return cancelled;
    }
    return this.options.store.getBuild(id);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Why each queued build is waiting, as of the last scheduling pass. */
  waitReason(id: number): string | null {
    if (this.paused) return 'queue paused';
    return this.waiting.get(id) ?? null;
  }

  /** Stops starting builds; lets running ones finish within `graceMs`, then interrupts them. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (expired) {
      this.abandoned = true;
      for (const run of this.running.values()) {
        run.controller.abort({
          state: 'interrupted',
          reason: 'interrupted: the service stopped',
        } satisfies Stop);
      }
      await all;
    }
    await this.pumping;
  }

  /** Resolves when nothing is running and nothing queued can start (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.pumping || this.running.size > 0) {
      await Promise.all([this.pumping, ...[...this.running.values()].map((r) => r.done)]);
    }
  }

  kick(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((error: unknown) => this.passFailed(error))
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** A pass that could not read or write the queue is tried again later: nothing is dropped. */
  private passFailed(error: unknown): void {
    const retryMs = this.options.retryMs ?? 5000;
    if (error instanceof StoreUnavailableError) {
      this.options.logger.warn(
        `database unreachable (${error.reason}); the queue waits, next look in ${retryMs} ms`,
      );
    } else {
      this.options.logger.error({ err: error }, 'scheduling pass failed; trying again');
    }
    if (this.stopping) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.kick(), retryMs);
    this.retryTimer.unref();
  }

  private untilStored<T>(what: string, write: () => Promise<T>): Promise<T> {
    const { logger, retryMs = 5000 } = this.options;
    return untilStored(what, write, { logger, retryMs, giveUp: () => this.abandoned });
  }

  private async pump(): Promise<void> {
    const { store, executor, rules, concurrency } = this.options;
    // Paused or stopping: nothing can start, so the queue need not be read (waitReason says why).
    if (this.paused || this.stopping) return;
    const queued = await store.listQueuedRefs();
    if (queued.length === 0) return;
    try {
      await executor.ping();
      this.engineProblem = null;
    } catch (error) {
      this.engineProblem = (error as Error).message;
      this.waiting = new Map(queued.map((b) => [b.id, `build engine unavailable: ${this.engineProblem}`]));
      this.retryTimer = setTimeout(() => this.kick(), this.options.retryMs ?? 5000);
      this.retryTimer.unref();
      return;
    }
    const running = [...this.running.values()].map((r) => r.build);
    const plan = planQueue(queued, running, concurrency, rules);
    this.waiting = plan.waiting;
    for (const build of plan.start) await this.launch(build);
  }

  private async launch(queuedBuild: BuildRef): Promise<void> {
    const { store, bus } = this.options;
    const rule = this.options.rules.get(queuedBuild.repository);
    const logPath = join(this.options.logsDirectory, `build-${queuedBuild.id}.log`);
    const now = new Date().toISOString();
    if (!rule) {
      const failed = await store.transition(queuedBuild.id, ['queued'], 'failed', {
        reason: `repository ${queuedBuild.repository} is no longer configured`,
        finishedAt: now,
      });
      if (failed) bus.publishBuild(failed);
      if (failed) logBuildEnd(this.options.logger, failed);
      return;
    }
    const build = await store.transition(queuedBuild.id, ['queued'], 'running', { startedAt: now, logPath });
    if (!build) return;
    bus.publishBuild(build);
    this.options.logger.info(
      {
        build: build.id,
        repository: build.repository,
        ref: `${build.refType} ${build.branch}`,
        commit: build.commit,
      },
      `build #${build.id} started: ${build.repository} ${build.refType} ${build.branch} at ${build.commit.slice(0, 8)}`,
    );
    const controller = new AbortController();
    const run: Running = { build, controller, done: Promise.resolve() };
    this.running.set(build.id, run);
    run.done = this.execute(build, rule, controller)
      .catch((error: unknown) =>
        // Only when the database stayed away past the stop's grace period: the record still says
        // `running`, and the next start interrupts and re-queues the build.
        this.options.logger.error({ err: error, build: build.id }, 'final state not stored'),
      )
      .finally(() => {
        this.running.delete(build.id);
        this.kick();
      });
  }

  private async execute(build: Build, rule: BuildRule, controller: AbortController): Promise<void> {
    const { store, bus, logger } = this.options;
    // A full log or a failed log write (ENOSPC, EIO) fails this build, never the service.
    const log = new BuildLog(build.logPath!, build.id, bus, {
      maxBytes: rule.logMaxBytes,
      onFailure: (reason) => controller.abort({ state: 'failed', reason } satisfies Stop),
    });
    const timeout = setTimeout(
      () =>
        controller.abort({
          state: 'failed',
          reason: `timeout after ${formatDuration(rule.timeoutMs)}`,
        } satisfies Stop),
      rule.timeoutMs,
    );
    const stepRecords = new StepRecords(build.id, { store, bus, logger });
    try {
      const outcome = await runPipeline(this.options.pipeline, {
        build,
        rule,
        log,
        signal: controller.signal,
        onSteps: (steps) => stepRecords.record(steps),
      });
      await stepRecords.settled();
      const steps = stepRecords.latest;
      const stop = controller.signal.aborted ? (controller.signal.reason as Stop) : null;
      const state = stop?.state ?? outcome.state;
      const reason = stop?.reason ?? outcome.reason;
      if (stop) log.line(`==> ${state}: ${reason}`);
      if (state === 'interrupted') {
        log.close();
        await interruptBuild(this.recoveryDeps(), build, reason ?? 'interrupted');
        return;
      }
      const finishedAt = new Date().toISOString();
      const finished = await this.untilStored(`build #${build.id} ${state}`, () =>
        store.transition(build.id, ['running'], state, {
          reason,
          artifact: outcome.artifact,
          image: outcome.image,
          finishedAt,
          ...(steps ? { steps } : {}),
        }),
      );
      if (finished) bus.publishBuild(finished);
      if (finished) logBuildEnd(logger, finished);
      if (!isFinal(state)) logger.error({ build: build.id, state }, 'build ended in a non-final state');
    } catch (error) {
      logger.error({ err: error, build: build.id }, 'build crashed');
      await stepRecords.settled();
      const steps = stepRecords.latest;
      const finishedAt = new Date().toISOString();
      const failed = await this.untilStored(`build #${build.id} failed`, () =>
        store.transition(build.id, ['running'], 'failed', {
          reason: `internal error: ${(error as Error).message}`,
          finishedAt,
          ...(steps ? { steps } : {}),
        }),
      );
      if (failed) bus.publishBuild(failed);
      if (failed) logBuildEnd(logger, failed);
    } finally {
      clearTimeout(timeout);
      log.close();
    }
  }
}

/** One line per build end: what a person scanning the service's log looks for. */
export function logBuildEnd(logger: Logger, build: Build): void {
  const ms =
    build.startedAt && build.finishedAt ? Date.parse(build.finishedAt) - Date.parse(build.startedAt) : null;
  const took = ms === null ? '' : ` in ${formatTook(Math.max(0, ms))}`;
  const line = `build #${build.id} ${build.state}${took}: ${build.repository} ${build.refType} ${build.branch}${
    build.reason ? ` (${build.reason})` : ''
  }`;
  const fields = {
    build: build.id,
    repository: build.repository,
    ref: `${build.refType} ${build.branch}`,
    state: build.state,
    reason: build.reason,
    durationMs: ms,
  };
  if (build.state === 'success') logger.info(fields, line);
  else logger.warn(fields, line);
}
