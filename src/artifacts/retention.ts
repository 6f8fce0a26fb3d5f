/**
 * Retention: per repository and ref, the newest `keep` finished builds keep their log and kernel;
 * older ones lose their files (the record stays, marked with no log and no artifact). A kernel a
 * stable link points to is never removed. Untagged images of ours are pruned. With a registry,
 * committed-image tags retention no longer keeps are deleted there (registry-retention.ts). Build
 * caches are pruned by age and size (cache-retention.ts; the callers run it on every engine).
 */
import { readdir, readlink, rm } from 'node:fs/promises';
import { timesPath } from '../domain/log-files.js';
import { basename, join } from 'node:path';
import type { Build } from '../domain/build.js';
import type { Executor } from '../executor/executor.js';
import type { RegistryClient } from '../executor/registry/registry-client.js';
import type { Store } from '../store/store.js';
import { pruneRegistryTags } from './registry-retention.js';

export interface GcResult {
  builds: number;
  logs: number;
  kernels: number;
  images: number;
  /** Committed-image tags deleted from the registry (0 without one). */
  tags: number;
  /** What retention could not do (the registry down…); the rest was done. */
  problems: string[];
  /** Build cache volumes removed (cache-retention.ts). */
  caches: number;
}

/** Every finished build, read a page at a time (the registry's tags are named by them). */
async function allFinished(store: Store): Promise<Build[]> {
  const builds: Build[] = [];
  let before: number | undefined;
  do {
    const page = await store.listHistory({ limit: 500, ...(before === undefined ? {} : { before }) });
    builds.push(...page.builds);
    before = page.nextBefore ?? undefined;
  } while (before !== undefined);
  return builds;
}

/** Which builds lose their files: everything past the newest `keep` of each repository and ref. */
export function buildsToPrune(builds: readonly Build[], keep: number): Build[] {
  const seen = new Map<string, number>();
  const prune: Build[] = [];
  for (const build of [...builds].sort((a, b) => b.id - a.id)) {
    const key = `${build.repository}\0${build.refType}\0${build.branch}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count > keep) prune.push(build);
  }
  return prune;
}

async function linkedKernels(kernelTarget: string): Promise<Set<string>> {
  const linked = new Set<string>();
  for (const entry of await readdir(kernelTarget).catch(() => [] as string[])) {
    const target = await readlink(join(kernelTarget, entry)).catch(() => null);
    if (target) linked.add(basename(target));
  }
  return linked;
}

export async function collectGarbage(options: {
  store: Store;
  executor: Executor | null;
  kernelTarget: string;
  keep: number;
  /** With a registry: its tags are pruned too (registry-retention.ts). */
  registry?: { client: RegistryClient; imageAgeMs: number } | null;
}): Promise<GcResult> {
  const { store, kernelTarget } = options;
  const linked = await linkedKernels(kernelTarget);
  const result: GcResult = { builds: 0, logs: 0, kernels: 0, images: 0, tags: 0, caches: 0, problems: [] };
  const withFiles = await store.listWithFiles();
  const prune = buildsToPrune(withFiles, options.keep);
  // A rebuild of the same commit publishes the same file: keep it while a kept build lists it.
  const pruned = new Set(prune.map((b) => b.id));
  for (const build of withFiles) if (!pruned.has(build.id) && build.artifact) linked.add(build.artifact);
  for (const build of prune) {
    const keepKernel = build.artifact !== null && linked.has(build.artifact);
    if (!build.logPath && keepKernel) continue;
    if (build.logPath) {
      await rm(build.logPath, { force: true });
      // Its line times go with it (log-times.ts); an older log has none, `force` covers that.
      await rm(timesPath(build.logPath), { force: true });
      result.logs += 1;
    }
    if (build.artifact && !keepKernel) {
      await rm(join(kernelTarget, basename(build.artifact)), { force: true });
      result.kernels += 1;
    }
    await store.update(build.id, { logPath: null, ...(keepKernel ? {} : { artifact: null }) });
    result.builds += 1;
  }
  if (options.executor) result.images = await options.executor.pruneImages();
  if (options.registry) {
    const tags = await pruneRegistryTags({
      registry: options.registry.client,
      finished: await allFinished(store),
      active: await store.listActive(),
      keep: options.keep,
      imageAgeMs: options.registry.imageAgeMs,
    });
    result.tags = tags.tags;
    result.problems.push(...tags.problems);
  }
  return result;
}
