/**
 * One build from start to final state: its log, its timeout, the pipeline on its engine, and the
 * record of how it ended (an interrupted build is re-queued through recovery.ts). Every state
 * change goes through moveBuild, fenced by this replica's lease: a replica whose lease was taken
 * (it was presumed dead) neither publishes (commit-point.ts asks `holdLease` first) nor marks the
 * build final, and says so.
 */
import type { Logger } from 'pino';
import { isFinal, type BootResult, type Build, type BuildState, type FailureCause } from '../domain/build.js';
import { formatDuration } from '../domain/duration.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import type { Engine } from '../executor/engine.js';
import { BuildLog } from '../live/build-log.js';
import type { EventBus } from '../live/event-bus.js';
import { runPipeline, type PipelineDeps } from '../pipeline/pipeline.js';
import type { BuildPatch, Fence, Store } from '../store/store.js';
import { interruptBuild, type RecoveryDeps } from './recovery.js';
import { StepRecords } from './step-records.js';
import { moveBuild } from './move-build.js';

/** Why a build was stopped from outside its pipeline (the abort reason of its controller). */
export interface Stop {
  state: Extract<BuildState, 'cancelled' | 'superseded' | 'failed' | 'interrupted'>;
  reason: string;
  cause: FailureCause;
  /** The lease was taken by another replica: nothing more is written for this build. */
  lost?: boolean;
}

/** What the pipeline needs besides what the scheduler has anyway (store, rules, tmpDirectory, the engine). */
export type PipelineSetup = Pick<PipelineDeps, 'mirrors' | 'kernelTarget' | 'instance'>;

export interface ExecuteDeps {
  store: Store;
  bus: EventBus;
  logger: Logger;
  rules: RuleLookup;
  tmpDirectory: string;
  pipeline: PipelineSetup;
  untilStored: <T>(what: string, write: () => Promise<T>) => Promise<T>;
  recoveryDeps: RecoveryDeps;
  /** A build failed with an engine error: interrupts it (`controller`) when its engine is gone. */
  engineFailed: (engine: Engine, controller: AbortController) => Promise<void>;
  /** This replica's lease on the build. */
  fence: Fence;
  /** Extends the lease now; false when it no longer holds (commit point, before publishing). */
  holdLease: () => Promise<boolean>;
}

/** The cause of an outcome the pipeline reported (its own failures are typed there). */
function causeOf(state: BuildState, cause: FailureCause | undefined): FailureCause | null {
  if (state === 'success') return null;
  return cause ?? (state === 'cancelled' ? 'config' : 'build');
}

export async function executeBuild(
  deps: ExecuteDeps,
  build: Build,
  rule: BuildRule,
  engine: Engine,
  controller: AbortController,
): Promise<void> {
  const { store, bus, logger, fence } = deps;
  const move = (to: BuildState, patch: BuildPatch) =>
    deps.untilStored(`build #${build.id} ${to}`, () =>
      moveBuild({ store, bus, logger }, build.id, ['running'], to, patch, { fence }),
    );
  // A full log or a failed log write (ENOSPC, EIO) fails this build, never the service.
  const log = new BuildLog(build.logPath!, build.id, bus, {
    maxBytes: rule.logMaxBytes,
    masks: Object.values(rule.secrets ?? {}),
    onFailure: (reason) =>
      controller.abort({
        state: 'failed',
        reason,
        cause: reason.startsWith('log write failed') ? 'internal' : 'limit',
      } satisfies Stop),
  });
  const armTimeout = (ms: number, limitMs = ms) =>
    setTimeout(
      () =>
        controller.abort({
          state: 'failed',
          reason: `timeout after ${formatDuration(limitMs)}`,
          cause: 'timeout',
        } satisfies Stop),
      ms,
    );
  let timeout = armTimeout(rule.timeoutMs);
  const startedAt = Date.now();
  const stepRecords = new StepRecords(build.id, { store, bus, logger }, fence);
  let boot: BootResult | null = null;
  const lostLease = (what: string) => {
    log.line(`==> lost the lease on build #${build.id}: another replica took it; ${what}`);
    logger.warn(
      { build: build.id, owner: fence.owner, epoch: fence.epoch, action: 'lease-lost' },
      `build #${build.id} lost its lease (another replica took it); ${what}`,
    );
  };
  try {
    const outcome = await runPipeline(
      {
        ...deps.pipeline,
        executor: engine.executor,
        store,
        // The pipeline records each cache a build mounts (when, for gc by age).
        cacheUses: store,
        rules: deps.rules,
        tmpDirectory: deps.tmpDirectory,
        holdLease: deps.holdLease,
      },
      {
        build,
        rule,
        log,
        signal: controller.signal,
        // The repository file may shorten the timeout (never lengthen it: repository-file.ts).
        onRule: (effective) => {
          if (effective.timeoutMs >= rule.timeoutMs) return;
          clearTimeout(timeout);
          timeout = armTimeout(
            Math.max(1, effective.timeoutMs - (Date.now() - startedAt)),
            effective.timeoutMs,
          );
        },
        // The log is on disk up to each step change before the change is recorded.
        onSteps: (steps) => {
          log.flush();
          stepRecords.record(steps);
        },
        onBoot: (result) => (boot = result),
      },
    );
    await stepRecords.settled();
    const steps = stepRecords.latest;
    if (!controller.signal.aborted && outcome.cause === 'engine') await deps.engineFailed(engine, controller);
    // A stop that came after the commit point is too late: the build's kernel and image are out.
    const stop = controller.signal.aborted && !outcome.committed ? (controller.signal.reason as Stop) : null;
    if (stop?.lost || outcome.lost) {
      lostLease('not publishing and not marking it final');
      return;
    }
    const state = stop?.state ?? outcome.state;
    const reason = stop?.reason ?? outcome.reason;
    if (stop) log.line(`==> ${state}: ${reason}`);
    if (state === 'interrupted') {
      log.close();
      await interruptBuild(deps.recoveryDeps, build, reason ?? 'interrupted', fence);
      return;
    }
    // The whole log on disk before the final state is stored and published (a reader that
    // sees the final state then reads the file to its end).
    log.close();
    const finished = await move(state, {
      reason,
      cause: stop?.cause ?? causeOf(state, outcome.cause),
      artifact: outcome.artifact,
      image: outcome.image,
      boot,
      finishedAt: new Date().toISOString(),
      ...(steps ? { steps } : {}),
    });
    if (!finished) lostLease(`its ${state} is not recorded`);
    if (!isFinal(state)) logger.error({ build: build.id, state }, 'build ended in a non-final state');
  } catch (error) {
    logger.error({ err: error, build: build.id }, 'build crashed');
    log.close();
    await stepRecords.settled();
    const steps = stepRecords.latest;
    const failed = await move('failed', {
      reason: `internal error: ${(error as Error).message}`,
      cause: 'internal',
      finishedAt: new Date().toISOString(),
      ...(steps ? { steps } : {}),
    });
    if (!failed) lostLease('its failure is not recorded');
  } finally {
    clearTimeout(timeout);
    log.close();
  }
}
