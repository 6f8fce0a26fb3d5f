/**
 * The build's container, made for a rule: image resolved, caches ready, created (not started).
 * The pipeline starts making it with the server's rule while the repository file is still read
 * (`.autobuilder.yaml` of the commit: a git fetch and a read, ~30 ms of a start); when the file
 * leaves the rule as it was (no file: the same rule object), that container is the build's, else
 * it is removed and one is made for the rule the file gave. Its log lines wait until it is taken,
 * so a replaced container's lines never reach the build log.
 */
import type { Build } from '../domain/build.js';
import type { BuildRule } from '../domain/rule.js';
import type { ContainerHandle, ContainerSpec, FirstStep } from '../executor/executor.js';
import type { Store } from '../store/store.js';
import { baseImageRef } from '../domain/pull-request.js';
import { prepareCaches } from './build-caches.js';
import { buildEnv, containerEnv } from './build-env.js';
import type { PipelineDeps } from './pipeline.js';
import { resolveImage } from './resolve-image.js';
import { throwIfAborted } from './until-aborted.js';

/** The build's output directory: an empty volume in its container, shared with nothing. */
export const OUTPUT_DIRECTORY = '/target';

export interface BuildContainer {
  handle: ContainerHandle;
  spec: ContainerSpec;
  /** The steps' environment (secrets included: only ever an exec's, never the container's). */
  env: Record<string, string>;
  /** Step 1 as the container's own process; undefined when every step is an exec. */
  firstStep: FirstStep | undefined;
}

type ContainerDeps = Pick<PipelineDeps, 'executor' | 'rules' | 'instance'> & {
  cacheUses?: Pick<Store, 'recordCacheUse'>;
};

/**
 * Makes the container for `rule`. `log` gets its lines (image pull progress, caches, the image).
 * Step 1 runs as the container's own process (no exec to make and start before its first line)
 * when its environment may be the container's: that holds no secret value, as `commit` keeps a
 * container's environment in the image. Otherwise every step is an exec.
 */
export async function makeContainer(
  deps: ContainerDeps,
  build: Build,
  rule: BuildRule,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<BuildContainer> {
  const env = buildEnv(build, rule, deps.rules);
  const firstStep =
    rule.steps.length > 0 && Object.keys(rule.secrets ?? {}).every((name) => !env[name])
      ? { command: rule.steps[0]!, workingDir: rule.checkout }
      : undefined;
  const image = await resolveImage(deps.executor, deps.rules, rule, baseImageRef(build), (l) =>
    log(`    ${l}`),
  );
  log(`==> image ${image}`);
  throwIfAborted(signal);
  const caches = await prepareCaches(
    {
      executor: deps.executor,
      instance: deps.instance ?? 'default',
      engine: build.engine ?? 'local',
      ...(deps.cacheUses ? { record: (use) => deps.cacheUses!.recordCacheUse(use) } : {}),
    },
    build,
    rule,
    image,
    (l) => log(`    ${l}`),
    signal,
  );
  throwIfAborted(signal);
  const spec: ContainerSpec = {
    buildId: build.id,
    image,
    env: firstStep ? env : containerEnv(env, rule),
    // The source on step 1's stdin: the container can start before the commit is fetched.
    firstStep: firstStep && { ...firstStep, sourceOnStdin: true },
    network: rule.network,
    memoryBytes: rule.memoryBytes,
    pidsLimit: rule.pidsLimit,
    capAdd: rule.capAdd,
    volumes: [OUTPUT_DIRECTORY],
    caches,
  };
  return { handle: await deps.executor.create(spec), spec, env, firstStep };
}

/** Log lines held until `take()`; dropped when the container they belong to is not taken. */
export class HeldLines {
  private held: string[] | null = [];
  constructor(private readonly out: (line: string) => void) {}
  readonly line = (text: string): void => {
    if (this.held) this.held.push(text);
    else this.out(text);
  };
  take(): void {
    for (const text of this.held ?? []) this.out(text);
    this.held = null;
  }
}
