/**
 * Retention: per repository and ref, the newest `keep` finished builds keep their log and kernel;
 * older ones lose their files (the record stays, marked with no log and no artifact). A kernel a
 * stable link points to is never removed. Untagged images of ours are pruned. Build caches are
 * pruned by age and size (cache-retention.ts; the callers run it on every engine).
 */
import { readdir, readlink, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Build } from '../domain/build.js';
import type { Executor } from '../executor/executor.js';
import type { Store } from '../store/store.js';

export interface GcResult {
  builds: number;
  logs: number;
  kernels: number;
  images: number;
  /** Build cache volumes removed (cache-retention.ts). */
  caches: number;
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
}): Promise<GcResult> {
  const { store, kernelTarget } = options;
  const linked = await linkedKernels(kernelTarget);
  const result: GcResult = { builds: 0, logs: 0, kernels: 0, images: 0, caches: 0 };
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
  return result;
}
