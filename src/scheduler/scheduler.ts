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
import { sameRef, type Build, type BuildRef, type NewBuild } from '../domain/build.js';
import type { RuleLookup } from '../domain/rule.js';
import { Engine } from '../executor/engine.js';
import { EnginePool } from '../executor/engine-pool.js';
import type { Executor } from '../executor/executor.js';
import type { EventBus } from '../live/event-bus.js';
import type { CreatedBuild, QueueLimits, Store } from '../store/store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';
import { onEngineChange, removeStraysLater } from './engine-events.js';
import { executeBuild, type PipelineSetup, type Stop } from './execute-build.js';
import { logBuildEnd } from './log-build-end.js';
import { engineProblem, placeBuilds } from './engine-placement.js';
import { planQueue } from './plan-queue.js';
import { baseNames, canonicalName } from '../domain/rule-set.js';
import { untilStored } from './until-stored.js';
import { recoverLeftovers, type RecoveryDeps } from './recovery.js';

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
}

interface Running {
  build: Build;
  engine: Engine;
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
  readonly engines: EnginePool;

  constructor(private readonly options: SchedulerOptions) {
    this.engines =
      options.engines ??
      new EnginePool([new Engine('local', 'local', options.concurrency, options.executor)]);
    this.engines.onChange((engine, up) => this.engineChanged(engine, up));
  }

  /** Recovers from a previous run (crash or stop), then starts what can start. */
  async start(): Promise<void> {
    const single = this.engines.engines.length === 1;
    // Several engines: leftovers are removed per engine in the background, so that a hung engine
    // does not hold the start; containers of builds started meanwhile are kept.
    await recoverLeftovers({ ...this.recoveryDeps(), executors: single ? undefined : [] });
    if (!single)
      for (const engine of this.engines.engines)
        removeStraysLater(engine, (id) => this.running.get(id)?.engine === engine, this.options.logger);
    this.engines.start();
    this.kick();
  }

  private recoveryDeps(): RecoveryDeps {
    const { store, bus, executor, logger, tmpDirectory, requeueInterrupted } = this.options;
    const instance = this.options.pipeline.instance;
    return { store, bus, executor, logger, tmpDirectory, requeueInterrupted, instance };
  }

  /** Builds running now on each engine (by name). */
  runningPerEngine(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const run of this.running.values())
      counts.set(run.engine.name, (counts.get(run.engine.name) ?? 0) + 1);
    return counts;
  }

  /** An engine went down or came back (scheduler/engine-events.ts). */
  private engineChanged(engine: Engine, up: boolean): void {
    onEngineChange(engine, up, {
      logger: this.options.logger,
      runs: () => this.running.values(),
      interrupt: (run, reason) => run.controller.abort({ state: 'interrupted', reason } satisfies Stop),
    });
    this.kick();
  }

  async enqueue(pushed: NewBuild): Promise<CreatedBuild> {
    const { queueLimits, rules } = this.options;
    const rule = rules.get(pushed.repository);
    // A renamed repository's pushes, under any of its names, are one repository's in the queue.
    const input = rule?.aliases?.length ? { ...pushed, names: [rule.repository, ...rule.aliases] } : pushed;
    const created = await this.options.store.createBuild(
      input,
      queueLimits && { ...queueLimits, base: baseNames(rules, input.repository) },
    );
    if (!created.created) return created;
    this.options.bus.publishBuild(created.build);
    for (const old of created.superseded) this.options.bus.publishBuild(old);
    if (this.options.rules.get(input.repository)?.cancelRunning) {
      for (const run of this.running.values()) {
        if (sameRef(run.build, input, (name) => canonicalName(rules, name))) {
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
    this.engines.stop();
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
    this.engineProblem = await engineProblem(this.engines, executor);
    if (this.engineProblem) {
      this.waiting = new Map(queued.map((b) => [b.id, `build engine unavailable: ${this.engineProblem}`]));
      this.retryTimer = setTimeout(() => this.kick(), this.options.retryMs ?? 5000);
      this.retryTimer.unref();
      return;
    }
    const running = [...this.running.values()].map((r) => r.build);
    const slots = this.engines.up().reduce((sum, e) => sum + e.capacity, 0);
    const plan = planQueue(queued, running, Math.min(concurrency, slots), rules);
    this.waiting = plan.waiting;
    const placed = await placeBuilds(plan.start, {
      engines: this.engines.engines,
      running: this.runningPerEngine(),
      rules,
      registryTags: this.options.registryTags ?? null,
      cacheUses: () => this.options.store.listCacheUses(),
    });
    for (const [id, reason] of placed.waiting) this.waiting.set(id, reason);
    for (const { build, engine } of placed.start) await this.launch(build, engine);
  }

  private async launch(queuedBuild: BuildRef, engine: Engine): Promise<void> {
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
    const build = await store.transition(queuedBuild.id, ['queued'], 'running', {
      startedAt: now,
      logPath,
      engine: engine.name,
    });
    if (!build) return;
    bus.publishBuild(build);
    this.options.logger.info(
      {
        build: build.id,
        repository: build.repository,
        ref: `${build.refType} ${build.branch}`,
        commit: build.commit,
        engine: engine.name,
      },
      `build #${build.id} started on ${engine.name}: ${build.repository} ${build.refType} ${build.branch} at ${build.commit.slice(0, 8)}`,
    );
    const controller = new AbortController();
    const run: Running = { build, engine, controller, done: Promise.resolve() };
    this.running.set(build.id, run);
    run.done = executeBuild(
      {
        ...this.options,
        untilStored: (what, write) => this.untilStored(what, write),
        recoveryDeps: this.recoveryDeps(),
        engineFailed: (failed, c) => this.engineFailed(failed, c),
      },
      build,
      rule,
      engine,
      controller,
    )
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

  /**
   * A build failed with an engine error: with other engines to go to, an engine that does not
   * answer a ping now is marked down, and the build is interrupted (re-queued) rather than failed.
   */
  private async engineFailed(engine: Engine, controller: AbortController): Promise<void> {
    if (this.engines.engines.length < 2 || (await this.engines.confirm(engine))) return;
    controller.abort({
      state: 'interrupted',
      reason: `interrupted: engine ${engine.name} stopped answering (${engine.reason})`,
    } satisfies Stop);
  }
}
