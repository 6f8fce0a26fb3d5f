/**
 * One build from start to final state: its log, its timeout, the pipeline on its engine, and the
 * record of how it ended (an interrupted build is re-queued through recovery.ts).
 */
import type { Logger } from 'pino';
import { isFinal, type BootResult, type Build, type BuildState } from '../domain/build.js';
import { formatDuration } from '../domain/duration.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import type { Engine } from '../executor/engine.js';
import { BuildLog } from '../live/build-log.js';
import type { EventBus } from '../live/event-bus.js';
import { runPipeline, type PipelineDeps } from '../pipeline/pipeline.js';
import type { Store } from '../store/store.js';
import { interruptBuild, type RecoveryDeps } from './recovery.js';
import { StepRecords } from './step-records.js';
import { logBuildEnd } from './log-build-end.js';

/** Why a build was stopped from outside its pipeline (the abort reason of its controller). */
export interface Stop {
  state: Extract<BuildState, 'cancelled' | 'superseded' | 'failed' | 'interrupted'>;
  reason: string;
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
}

export async function executeBuild(
  deps: ExecuteDeps,
  build: Build,
  rule: BuildRule,
  engine: Engine,
  controller: AbortController,
): Promise<void> {
  const { store, bus, logger } = deps;
  // A full log or a failed log write (ENOSPC, EIO) fails this build, never the service.
  const log = new BuildLog(build.logPath!, build.id, bus, {
    maxBytes: rule.logMaxBytes,
    masks: Object.values(rule.secrets ?? {}),
    onFailure: (reason) => controller.abort({ state: 'failed', reason } satisfies Stop),
  });
  const armTimeout = (ms: number, limitMs = ms) =>
    setTimeout(
      () =>
        controller.abort({
          state: 'failed',
          reason: `timeout after ${formatDuration(limitMs)}`,
        } satisfies Stop),
      ms,
    );
  let timeout = armTimeout(rule.timeoutMs);
  const startedAt = Date.now();
  const stepRecords = new StepRecords(build.id, { store, bus, logger });
  let boot: BootResult | null = null;
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
    if (!controller.signal.aborted && outcome.reason?.startsWith('build engine error'))
      await deps.engineFailed(engine, controller);
    // A stop that came after the commit point is too late: the build's kernel and image are out.
    const stop = controller.signal.aborted && !outcome.committed ? (controller.signal.reason as Stop) : null;
    const state = stop?.state ?? outcome.state;
    const reason = stop?.reason ?? outcome.reason;
    if (stop) log.line(`==> ${state}: ${reason}`);
    if (state === 'interrupted') {
      log.close();
      await interruptBuild(deps.recoveryDeps, build, reason ?? 'interrupted');
      return;
    }
    // The whole log on disk before the final state is stored and published (a reader that
    // sees the final state then reads the file to its end).
    log.close();
    const finishedAt = new Date().toISOString();
    const finished = await deps.untilStored(`build #${build.id} ${state}`, () =>
      store.transition(build.id, ['running'], state, {
        reason,
        artifact: outcome.artifact,
        image: outcome.image,
        boot,
        finishedAt,
        ...(steps ? { steps } : {}),
      }),
    );
    if (finished) bus.publishBuild(finished);
    if (finished) logBuildEnd(logger, finished);
    if (!isFinal(state)) logger.error({ build: build.id, state }, 'build ended in a non-final state');
  } catch (error) {
    logger.error({ err: error, build: build.id }, 'build crashed');
    log.close();
    await stepRecords.settled();
    const steps = stepRecords.latest;
    const finishedAt = new Date().toISOString();
    const failed = await deps.untilStored(`build #${build.id} failed`, () =>
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
