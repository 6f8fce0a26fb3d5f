/**
 * Runs one build: source at the exact commit → container → steps → artifact → commit → cleanup.
 * Cleanup (container removed, temp dir deleted) runs on success, failure and cancel alike.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { publishArtifact } from '../artifacts/publish-artifact.js';
import type { BootResult, Build, StepRecord } from '../domain/build.js';
import type { BuildRule } from '../domain/rule.js';
import { renderTemplate, templateValues } from '../domain/template.js';
import type { ContainerHandle, Executor } from '../executor/executor.js';
import type { BuildLog } from '../live/build-log.js';
import type { GitMirrors } from './git-mirror.js';
import { BuildFailure } from './build-failure.js';
import { nameTakenBy, type PublisherLookup } from './name-owner.js';
import { resolveImage } from './resolve-image.js';
import { untilAborted } from './until-aborted.js';
import { stageArtifact } from './stage-artifact.js';
import { bootTest } from './boot-test.js';

export interface PipelineDeps {
  executor: Executor;
  mirrors: GitMirrors;
  kernelTarget: string;
  tmpDirectory: string;
  rules: Map<string, BuildRule>;
  /** Who published a kernel name, so a build cannot take another ref's names. */
  store: PublisherLookup;
  /** This service's instance id (service-instance.ts): boot tests' QEMU processes carry it. */
  instance?: string;
}

export interface RunContext {
  build: Build;
  rule: BuildRule;
  log: BuildLog;
  signal: AbortSignal;
  onSteps: (steps: StepRecord[]) => void;
  /** The boot test's outcome, when the rule has one and it ran (see boot-test.ts). */
  onBoot?: (boot: BootResult) => void;
}

export interface BuildOutcome {
  state: 'success' | 'failed';
  reason: string | null;
  artifact: string | null;
  image: string | null;
}

export const TEMP_PREFIX = 'autobuilder-build-';
/** The build's output directory: an empty volume in its container, shared with nothing. */
export const OUTPUT_DIRECTORY = '/target';

function buildEnv(build: Build, rule: BuildRule): Record<string, string> {
  return {
    ...rule.env,
    AUTOBUILD_REPOSITORY: build.repository,
    AUTOBUILD_BRANCH: build.branch,
    AUTOBUILD_COMMIT: build.commit,
    AUTOBUILD_BUILD_ID: String(build.id),
  };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new BuildFailure('aborted');
}

export async function runPipeline(deps: PipelineDeps, ctx: RunContext): Promise<BuildOutcome> {
  const { build, rule, log, signal } = ctx;
  const values = templateValues(build.repository, build.refType, build.branch, build.commit);
  let handle: ContainerHandle | null = null;
  let tempDir: string | null = null;
  let container: Promise<ContainerHandle> | null = null;
  try {
    log.line(
      `==> build #${build.id}: ${build.repository} ${build.refType} ${build.branch} at ${build.commit}`,
    );
    const names = rule.publish ? [rule.publish, rule.link ?? ''].filter(Boolean) : [];
    const taken = await nameTakenBy(
      deps.store,
      deps.kernelTarget,
      build,
      names.map((t) => renderTemplate(t, values)),
    );
    if (taken) throw new BuildFailure(taken);
    // Fetching the source and starting the container do not depend on each other: do both at once.
    const source = deps.mirrors.ensureCommit(build.repository, build.commit, (l) => log.line(`    ${l}`));
    container = (async () => {
      const image = await resolveImage(deps.executor, deps.rules, rule, build, (l) => log.line(`    ${l}`));
      log.line(`==> image ${image}`);
      checkAborted(signal);
      await mkdir(deps.tmpDirectory, { recursive: true });
      tempDir = await mkdtemp(join(deps.tmpDirectory, `${TEMP_PREFIX}${build.id}-`));
      handle = await deps.executor.start({
        buildId: build.id,
        image,
        env: buildEnv(build, rule),
        network: rule.network,
        memoryBytes: rule.memoryBytes,
        pidsLimit: rule.pidsLimit,
        capAdd: rule.capAdd,
        volumes: [OUTPUT_DIRECTORY],
      });
      return handle;
    })();
    const [fetched, started] = await untilAborted(signal, Promise.allSettled([source, container]));
    if (fetched.status === 'rejected') throw fetched.reason;
    if (fetched.value) throw new BuildFailure(fetched.value);
    if (started.status === 'rejected') throw started.reason;
    checkAborted(signal);
    const running = started.value;
    log.line(`==> source ${build.commit} into ${rule.checkout}`);
    await untilAborted(
      signal,
      deps.executor.putArchive(
        running,
        '/',
        deps.mirrors.archive(build.repository, build.commit, rule.checkout.replace(/^\/+|\/+$/g, '')),
      ),
    );

    const steps: StepRecord[] = [];
    for (const [index, command] of rule.steps.entries()) {
      checkAborted(signal);
      const step: StepRecord = { index: index + 1, command, startedAt: new Date().toISOString() };
      steps.push(step);
      ctx.onSteps(steps);
      log.line(`==> step ${index + 1}/${rule.steps.length}: ${command}`);
      const exitCode = await deps.executor.exec(running, command, {
        env: buildEnv(build, rule),
        workingDir: rule.checkout,
        onOutput: (chunk, stream) => log.output(chunk, stream),
        signal,
      });
      log.flush();
      step.exitCode = exitCode;
      step.finishedAt = new Date().toISOString();
      ctx.onSteps(steps);
      checkAborted(signal);
      if (exitCode !== 0)
        throw new BuildFailure(`step ${index + 1} (${command}) exited with code ${exitCode}`);
    }

    // A rule that publishes needs its artifact; one that only commits an image does not.
    let artifact: string | null = null;
    if (rule.publish) {
      checkAborted(signal);
      // Staged in the service's own temp dir: only the engine ever read the container's file.
      const staged = join(tempDir!, 'artifact');
      const bytes = await stageArtifact(deps.executor, running, rule, staged, signal);
      log.line(`==> artifact ${rule.artifact}: ${bytes} bytes`);
      checkAborted(signal);
      // Before any name, link or image tag moves: a kernel that does not boot is not published.
      await bootTest(deps, ctx, running, staged);
      const name = renderTemplate(rule.publish, values);
      const link = rule.link ? renderTemplate(rule.link, values) : undefined;
      // Again just before writing: another ref's build may have published under a name since.
      const takenNow = await nameTakenBy(deps.store, deps.kernelTarget, build, link ? [name, link] : [name]);
      if (takenNow) throw new BuildFailure(takenNow);
      await publishArtifact(staged, deps.kernelTarget, name, { link, signal }).catch((error: Error) => {
        checkAborted(signal);
        throw new BuildFailure(`publishing ${name} failed: ${error.message}`);
      });
      artifact = name;
      log.line(`==> published ${name}${link ? ` (link ${link})` : ''}`);
    }

    let committed: string | null = null;
    if (rule.commit) {
      checkAborted(signal);
      committed = renderTemplate(rule.commit, values).replace(/^[^:]+/, (repo) => repo.toLowerCase());
      const { replaced } = await untilAborted(signal, deps.executor.commit(running, committed));
      log.line(
        `==> committed image ${committed}${replaced ? ` (removed previous ${replaced.slice(0, 19)})` : ''}`,
      );
    }
    log.line(`==> success`);
    return { state: 'success', reason: null, artifact, image: committed };
  } catch (error) {
    const reason =
      error instanceof BuildFailure
        ? error.message
        : `build engine error: ${(error as Error).message ?? String(error)}`;
    if (!signal.aborted) log.line(`==> failed: ${reason}`);
    return { state: 'failed', reason, artifact: null, image: null };
  } finally {
    if (handle) await deps.executor.destroy(handle).catch(() => undefined);
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    if (!handle && container) {
      // Aborted while the container was still being made: remove it (and its dir) once it exists.
      void container
        .then((late) => deps.executor.destroy(late))
        .catch(() => undefined)
        .finally(() => tempDir && rm(tempDir, { recursive: true, force: true }).catch(() => undefined));
    }
  }
}
