/**
 * The queue, shared by every replica on the database (docs/scale-out.md, Replicas). Guarantees
 * (each has a test in test/unit/scheduler.test.ts, test/unit/leases.test.ts or
 * test/integration/replicas.test.ts):
 * - a build is claimed by one replica, under a lease it renews; planning sees every replica's
 *   running builds; a build whose lease expired is reaped (container removed, re-queued once);
 * - cancel, supersede and pause are rows: any replica takes them, the owner acts within `pollMs`;
 * - an accepted build is persisted before it is acknowledged, and ends in a final state;
 * - a newer push to a ref supersedes the older queued build (and the running one when the rule
 *   says `cancel_running`);
 * - after a restart, builds left `running` are marked `interrupted` and re-queued (once by default);
 *   containers and temp dirs of ours left by a crash are removed;
 * - while the engine is down, builds stay queued and start when it is back;
 * - while the database is away, nothing starts, a build's final state is written when it is back,
 *   and a build's step records are written in order, before its final state.
 */
import type { Build, NewBuild } from '../domain/build.js';
import { Engine } from '../executor/engine.js';
import { EnginePool } from '../executor/engine-pool.js';
import type { CreatedBuild } from '../store/store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';
import { onEngineChange, removeStraysLater } from './engine-events.js';
import type { Stop } from './execute-build.js';
import { engineProblem } from './engine-placement.js';
import { untilStored } from './until-stored.js';
import { recoverLeftovers, type RecoveryDeps } from './recovery.js';
import { ReplicaWatch } from './replica-watch.js';
import { LEASE_DEFAULTS, type SchedulerOptions } from './scheduler-options.js';
import { claimBuilds } from './claim-builds.js';
import { cancelNotHere } from './shared-control.js';
import { storePush } from './store-push.js';
import { SharedPause } from './shared-pause.js';
import { endRuns, startRun, type Running } from './run-build.js';

export { LEASE_DEFAULTS, type SchedulerOptions } from './scheduler-options.js';

export class Scheduler {
  private readonly running = new Map<number, Running>();
  private waiting = new Map<number, string>();
  private pumping: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  /** Set when the grace period is over: writes still waiting for the database give up. */
  private abandoned = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private watching: Promise<void> | null = null;
  /** A push was stored since the last pass that read the queue (see pump). */
  private pushed = false;
  engineProblem: string | null = null;
  readonly engines: EnginePool;
  /** This replica's name in the store (the owner of the builds it runs). */
  readonly instance: string;
  private readonly lease: typeof LEASE_DEFAULTS;
  private readonly watch: ReplicaWatch;
  private readonly pausing: SharedPause;

  constructor(private readonly options: SchedulerOptions) {
    this.engines =
      options.engines ??
      new EnginePool([new Engine('local', 'local', options.concurrency, options.executor)]);
    this.engines.onChange((engine, up) => this.engineChanged(engine, up));
    this.instance = options.pipeline.instance ?? 'default';
    this.lease = {
      leaseMs: options.leaseMs ?? LEASE_DEFAULTS.leaseMs,
      renewMs: options.renewMs ?? LEASE_DEFAULTS.renewMs,
      pollMs: options.pollMs ?? LEASE_DEFAULTS.pollMs,
      cancelWaitMs: options.cancelWaitMs ?? LEASE_DEFAULTS.cancelWaitMs,
    };
    this.pausing = new SharedPause(options.store, options.logger, () => this.kick());
    this.watch = new ReplicaWatch({
      store: options.store,
      logger: options.logger,
      instance: this.instance,
      leaseMs: this.lease.leaseMs,
      renewMs: this.lease.renewMs,
      startedAt: new Date().toISOString(),
      runs: () => this.running.values(),
      reap: { recovery: this.recoveryDeps(), engines: this.engines, logger: options.logger },
      pause: this.pausing,
    });
  }

  /** Recovers from a previous run (crash or stop), then starts what can start. */
  async start(): Promise<void> {
    await this.pausing.load();
    const single = this.engines.engines.length === 1;
    // Several engines: leftovers are removed per engine in the background, so that a hung engine
    // does not hold the start; containers of builds started meanwhile are kept.
    await recoverLeftovers({ ...this.recoveryDeps(), executors: single ? undefined : [] });
    if (!single)
      for (const engine of this.engines.engines)
        removeStraysLater(engine, (id) => this.running.get(id)?.engine === engine, this.options.logger);
    this.engines.start();
    await this.watch.renew();
    this.watchTimer = setInterval(() => this.look(), this.lease.pollMs);
    this.watchTimer.unref();
    this.kick();
  }

  /** One look at the shared queue (replica-watch.ts), then a scheduling pass; one at a time. */
  private look(): void {
    if (this.watching || this.stopping) return;
    this.watching = this.watch.look().finally(() => {
      this.watching = null;
      this.kick();
    });
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
      interrupt: (run, reason) =>
        run.controller.abort({ state: 'interrupted', reason, cause: 'interrupted' } satisfies Stop),
    });
    this.kick();
  }

  async enqueue(pushed: NewBuild): Promise<CreatedBuild> {
    const created = await storePush(this.options, pushed, (id, stop) => {
      const run = this.running.get(id);
      if (run) run.controller.abort({ ...stop, cause: 'superseded' } satisfies Stop);
      return Boolean(run);
    });
    if (!created.created) return created;
    this.pushed = true;
    this.kick();
    return created;
  }

  /**
   * Cancels a queued or running build; returns it after the change (null when it is unknown).
   * A build another replica runs is asked to stop through its row; its owner acts within
   * `pollMs`. This waits up to `cancelWaitMs` for that, then returns it as it is (still running,
   * with `cancelRequested` set).
   */
  async cancel(id: number, reason = 'cancelled'): Promise<Build | null> {
    const run = this.running.get(id);
    if (run) {
      run.controller.abort({ state: 'cancelled', reason, cause: 'cancelled' } satisfies Stop);
      await run.done;
      return this.options.store.getBuild(id);
    }
    const { build, moved } = await cancelNotHere(this.options, id, reason, this.lease.cancelWaitMs);
    if (moved) this.kick();
    return build;
  }

  /** Pauses every replica (a shared setting, kept across restarts); resolves once stored. */
  pause(): Promise<void> {
    return this.pausing.set(true);
  }

  resume(): Promise<void> {
    return this.pausing.set(false);
  }

  get isPaused(): boolean {
    return this.pausing.paused;
  }

  /** Why each queued build is waiting, as of the last scheduling pass. */
  waitReason(id: number): string | null {
    if (this.pausing.paused) return 'queue paused';
    return this.waiting.get(id) ?? null;
  }

  /** Stops starting builds; lets running ones finish within `graceMs`, then interrupts them. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.engines.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    await endRuns(
      () => this.running.values(),
      graceMs,
      // Writes still waiting for the database give up: the next start re-queues those builds.
      () => (this.abandoned = true),
    );
    await this.pumping;
    await this.watching;
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

  private async pump(): Promise<void> {
    const { store, executor } = this.options;
    // Paused or stopping: nothing can start, so the queue need not be read (waitReason says why).
    if (this.pausing.paused || this.stopping) return;
    // After a push the engine is asked while the queue is read (its build starts a round trip
    // sooner); a periodic look asks it only when something is queued: an idle service does not
    // ping. engineProblem never rejects.
    const early = this.pushed ? engineProblem(this.engines, executor) : null;
    this.pushed = false;
    if ((await store.countQueued()) === 0) return;
    this.engineProblem = await (early ?? engineProblem(this.engines, executor));
    if (this.engineProblem) {
      const queued = await store.listQueuedRefs();
      this.waiting = new Map(queued.map((b) => [b.id, `build engine unavailable: ${this.engineProblem}`]));
      this.retryTimer = setTimeout(() => this.kick(), this.options.retryMs ?? 5000);
      this.retryTimer.unref();
      return;
    }
    const claimed = await claimBuilds(this.options, this.engines, {
      instance: this.instance,
      leaseMs: this.lease.leaseMs,
      onWaiting: (waiting) => (this.waiting = waiting),
    });
    for (const { build, engine } of claimed) this.launch(build, engine);
  }

  private launch(build: Build, engine: Engine): void {
    const { logger, retryMs = 5000 } = this.options;
    const giveUp = () => this.abandoned;
    const run = startRun(
      {
        ...this.options,
        instance: this.instance,
        leaseMs: this.lease.leaseMs,
        untilStored: (what, write) => untilStored(what, write, { logger, retryMs, giveUp }),
        recoveryDeps: this.recoveryDeps(),
        engineFailed: (failed, c) => this.engineFailed(failed, c),
      },
      build,
      engine,
      () => {
        this.running.delete(build.id);
        this.kick();
      },
    );
    this.running.set(build.id, run);
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
      cause: 'interrupted',
    } satisfies Stop);
  }
}
