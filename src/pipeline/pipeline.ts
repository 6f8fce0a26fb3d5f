/**
 * Runs one build: container created while the source at the exact commit is fetched → step 1 as
 * its process, started at once, the source on its stdin once fetched (no tar in the image, or
 * secrets: the source copied into the created container first) → later steps by exec → artifact → commit point
 * (commit-point.ts: image committed, kernel published, tag moved) → cleanup.
 * Cleanup (container removed, temp dir deleted) runs on success, failure and cancel alike.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootResult, Build, FailureCause, StepRecord } from '../domain/build.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import { renderTemplate, templateValues } from '../domain/template.js';
import { type ContainerHandle, type Executor, type OutputStream } from '../executor/executor.js';
import { sourceAt, spoolArchive } from './source-archive.js';
import { runFirstStep } from './first-step.js';
import type { BuildLog } from '../live/build-log.js';
import type { GitMirrors } from './git-mirror.js';
import { BuildFailure, LeaseLost } from './build-failure.js';
import { deliver, type Delivery, type NameClaims } from './commit-point.js';
import { nameTakenBy } from './name-owner.js';
import { throwIfAborted, untilAborted } from './until-aborted.js';
import { stageArtifact } from './stage-artifact.js';
import { makeContainer, type BuildContainer } from './build-container.js';
import { EarlyContainer } from './early-container.js';
import { ownedNames, publishNames, pullPublishProblem } from '../domain/publish-names.js';
import { pullHeadRef } from '../domain/pull-request.js';
import { readRepositoryRule } from './repository-rule.js';
import { bootTest } from './boot-test.js';
import type { Store } from '../store/store.js';

export interface PipelineDeps {
  executor: Executor;
  mirrors: GitMirrors;
  kernelTarget: string;
  tmpDirectory: string;
  rules: RuleLookup;
  /** Who published a kernel name, so a build cannot take another ref's names; claims names. */
  store: NameClaims;
  /** This service's instance id (service-instance.ts): boot tests' QEMU processes carry it. */
  instance?: string;
  /** Where the last use of each build cache is recorded (gc by age); none: not recorded. */
  cacheUses?: Pick<Store, 'recordCacheUse'>;
  /**
   * Extends this replica's lease on the build; false when another replica took it. Asked at the
   * commit point, before anything is published (absent: the build is never taken away).
   */
  holdLease?: () => Promise<boolean>;
}

export interface RunContext {
  build: Build;
  /** The server's rule at launch; `.autobuilder.yaml` of the commit may change it (repository-file.ts). */
  rule: BuildRule;
  /** Called with the rule the build runs with once the repository file was applied. */
  onRule?: (rule: BuildRule) => void;
  log: BuildLog;
  signal: AbortSignal;
  onSteps: (steps: StepRecord[]) => void;
  /** The boot test's outcome, when the rule has one and it ran (see boot-test.ts). */
  onBoot?: (boot: BootResult) => void;
}

export interface BuildOutcome {
  /** `cancelled`: the repository file's branches/tags leave this ref out. */
  state: 'success' | 'failed' | 'cancelled';
  reason: string | null;
  artifact: string | null;
  image: string | null;
  /** Past the commit point (commit-point.ts): a cancel or timeout that came later changes nothing. */
  committed?: boolean;
  /** Why it failed: `build` (its steps, files, names) or `engine` (Docker failed under it). */
  cause?: FailureCause;
  /** The lease was gone at the commit point: nothing was published, nothing may be recorded. */
  lost?: boolean;
}

export const TEMP_PREFIX = 'autobuilder-build-';

export async function runPipeline(deps: PipelineDeps, ctx: RunContext): Promise<BuildOutcome> {
  const { build, log, signal } = ctx;
  let rule = ctx.rule;
  // Names come from the rule's own name, also for a push under an alias (a renamed repository).
  const values = templateValues(rule.repository, build.refType, build.branch, build.commit);
  let handle: ContainerHandle | null = null;
  let tempDir: string | null = null;
  let container: Promise<ContainerHandle> | null = null;
  let spool: ReturnType<typeof spoolArchive> | null = null;
  /** Aborted when the run ends: a spool still writing then stops (source-archive.ts). */
  const ended = new AbortController();
  let early: EarlyContainer | null = null;
  try {
    log.line(
      `==> build #${build.id}: ${build.repository} ${build.refType} ${build.branch} at ${build.commit}`,
    );
    await mkdir(deps.tmpDirectory, { recursive: true });
    tempDir = await mkdtemp(join(deps.tmpDirectory, `${TEMP_PREFIX}${build.id}-`));
    const serverRule = rule;
    // A rule with caches waits for the file: its volumes (made, seeded from master's, their use
    // recorded) must be the build's rule's, never made for a ref the file leaves out.
    if (rule.repositoryConfig && !rule.cache?.length) {
      // The container does not wait for the repository file (build-container.ts): made with the
      // server's rule meanwhile, kept when the file changes nothing; step 1 started on it waits
      // on its stdin (early-container.ts).
      early = new EarlyContainer(deps, build, rule, log, signal);
      container = early.made.then((made) => made.handle);
      container.catch(() => undefined); // awaited below, or removed in `finally`
    }
    if (rule.repositoryConfig) {
      const read = await untilAborted(
        signal,
        readRepositoryRule(deps, build, rule, (l) => log.line(l)),
      );
      if (read.skip) {
        log.line(`==> not built: ${read.skip}`);
        return { state: 'cancelled', reason: `not built: ${read.skip}`, artifact: null, image: null };
      }
      rule = read.rule;
      ctx.onRule?.(rule);
    }
    // After the repository file: it may set `publish` and `link`.
    let names = publishNames(rule, build, values);
    const unpublished = build.refType === 'pull' ? pullPublishProblem(rule) : null;
    if (unpublished) {
      log.line(`==> not published: ${unpublished}`);
      names = null;
    }
    const taken = names && (await nameTakenBy(deps.store, deps.kernelTarget, build, ...ownedNames(names)));
    if (taken) throw new BuildFailure(taken);
    // Fetching the source and making the container do not depend on each other: do both at once.
    const source = deps.mirrors.ensureCommit(
      build.repository,
      build.commit,
      (l) => log.line(`    ${l}`),
      build.pull ? pullHeadRef(build.pull.number) : undefined,
    );
    let building: Promise<BuildContainer>;
    if (early && rule === serverRule) {
      building = early.take();
    } else {
      // The repository file changed the rule: the container made meanwhile is not this build's.
      early?.drop(new BuildFailure('the repository file changed the rule'));
      early = null;
      building = makeContainer(deps, build, rule, (l) => log.line(l), signal);
      container = building.then((made) => made.handle);
      container.catch(() => undefined);
    }
    source.catch(() => undefined); // awaited below, or by the source's feed
    const { fetched, copySource } = sourceAt(deps, build, rule.checkout, source, signal);
    let made: BuildContainer;
    try {
      made = await untilAborted(signal, building);
      handle = made.handle;
    } catch (error) {
      // A failed fetch is the clearer reason when both failed.
      const failure = await untilAborted(signal, source).catch(() => null);
      throw failure ? new BuildFailure(failure) : error;
    }
    const { env, firstStep, spec } = made;
    let created = made.handle;
    log.line(`==> source ${build.commit} into ${rule.checkout}`);
    if (!created.sourceOnStdin) await copySource(created);
    // Spooled now, while the container starts: step 1 finds its source ready.
    else if (firstStep) spool = spoolArchive(fetched(), tempDir, AbortSignal.any([signal, ended.signal]));
    throwIfAborted(signal);
    let running = false;

    const steps: StepRecord[] = [];
    for (const [index, command] of rule.steps.entries()) {
      throwIfAborted(signal);
      const step: StepRecord = { index: index + 1, command, startedAt: new Date().toISOString() };
      steps.push(step);
      ctx.onSteps(steps);
      log.line(`==> step ${index + 1}/${rule.steps.length}: ${command}`);
      const onOutput = (chunk: Buffer, stream: OutputStream) => log.output(chunk, stream);
      let exitCode: number;
      if (index === 0 && firstStep) {
        const feed = {
          source: spool ? spool.source : () => Promise.reject(new Error('no source spooled')),
          // An image without tar: a new container, the source copied in before it starts.
          recreate: async (message: string) => {
            log.line(`==> ${message}: copying it in instead`);
            await deps.executor.destroy(created);
            handle = null;
            handle = created = await deps.executor.create({
              ...spec,
              firstStep: { ...firstStep, sourceOnStdin: false },
            });
            await copySource(created);
            return created;
          },
        };
        // Its exit code is the process's own, from the engine; the container stops with it, and
        // with it whatever the step left running in the background.
        const started = await early?.begin(feed);
        exitCode = await (started?.exit ??
          runFirstStep(deps.executor, created, { onOutput, signal, ...feed }));
      } else {
        if (!running) await untilAborted(signal, deps.executor.resume(created));
        running = true;
        exitCode = await deps.executor.exec(created, command, {
          env,
          workingDir: rule.checkout,
          onOutput,
          signal,
        });
      }
      log.flush();
      step.exitCode = exitCode;
      step.finishedAt = new Date().toISOString();
      ctx.onSteps(steps);
      throwIfAborted(signal);
      if (exitCode !== 0)
        throw new BuildFailure(`step ${index + 1} (${command}) exited with code ${exitCode}`);
    }

    // A rule that publishes needs its artifact; one that only commits an image does not.
    let kernel: Delivery['kernel'] = null;
    if (names) {
      throwIfAborted(signal);
      // Staged in the service's own temp dir: only the engine ever read the container's file.
      const staged = join(tempDir!, 'artifact');
      const bytes = await stageArtifact(deps.executor, created, rule, staged, signal);
      log.line(`==> artifact ${rule.artifact}: ${bytes} bytes`);
      throwIfAborted(signal);
      // Before any name, link or image tag moves: a kernel that does not boot is not published.
      await bootTest(deps, ctx, created, staged);
      kernel = { staged, names };
    }
    throwIfAborted(signal);
    // A pull request's container is never committed: the next branch build must not start from it.
    const image =
      rule.commit && build.refType !== 'pull'
        ? renderTemplate(rule.commit, values).replace(/^[^:]+/, (repo) => repo.toLowerCase())
        : null;
    const delivered = await deliver(deps, { build, handle: created, kernel, image }, log, signal);
    if (delivered.failure) {
      log.line(`==> failed: ${delivered.failure}`);
      return {
        state: 'failed',
        reason: delivered.failure,
        cause: 'engine',
        artifact: delivered.artifact,
        image: null,
        committed: true,
      };
    }
    log.line(`==> success`);
    return {
      state: 'success',
      reason: null,
      artifact: delivered.artifact,
      image: delivered.image,
      committed: true,
    };
  } catch (error) {
    const reason =
      error instanceof BuildFailure
        ? error.message
        : `build engine error: ${(error as Error).message ?? String(error)}`;
    if (!signal.aborted) log.line(`==> failed: ${reason}`);
    const cause = error instanceof BuildFailure ? 'build' : 'engine';
    return { state: 'failed', reason, cause, artifact: null, image: null, lost: error instanceof LeaseLost };
  } finally {
    early?.end(new BuildFailure('step 1 did not begin'));
    ended.abort();
    const dir = tempDir;
    const removeDir = async () => {
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    };
    if (handle) await deps.executor.destroy(handle).catch(() => undefined);
    await removeDir();
    // A spool still writing when the build ended (before step 1 took it) may have made its file
    // after that: the dir is removed again once the spool has stopped.
    spool?.settled.then(removeDir).catch(() => undefined);
    if (!handle && container) {
      // Aborted while the container was still being made: remove it (and its dir) once it exists.
      void container
        .then((late) => deps.executor.destroy(late))
        .catch(() => undefined)
        .finally(removeDir);
    }
  }
}
