/**
 * The cache volumes a build mounts (rule key `cache:`, domain/cache.ts): made on first use, a new
 * branch's seeded once from master's, a pull request's the base branch's, read-only. Each use is
 * recorded for gc by age (artifacts/cache-retention.ts).
 */
import type { Build } from '../domain/build.js';
import {
  CACHE_LABEL,
  CACHE_PATH_LABEL,
  CACHE_REF_LABEL,
  cachePlan,
  cacheVolumeName,
  type CacheRef,
} from '../domain/cache.js';
import type { BuildRule } from '../domain/rule.js';
import type { CacheMount, Executor } from '../executor/executor.js';
import type { CacheUse } from '../store/store.js';

export interface CacheDeps {
  executor: Executor;
  /** This service's instance id: two services on one engine never share a cache. */
  instance: string;
  /** Where the build runs: caches are per engine. */
  engine: string;
  record?: (use: CacheUse) => Promise<void>;
}

export const refLabel = (ref: CacheRef) => `${ref.refType}:${ref.branch}`;

/** First uses of one volume in this process wait for each other: a cache is seeded once. */
const preparing = new Map<string, Promise<void>>();

async function once(key: string, work: () => Promise<void>): Promise<void> {
  const before = preparing.get(key) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(work);
  preparing.set(key, mine);
  try {
    await mine;
  } finally {
    if (preparing.get(key) === mine) preparing.delete(key);
  }
}

/** Makes the build's own cache, seeded from `seedFrom`'s when this call made it. */
async function ensureOwnCache(
  deps: CacheDeps,
  volume: string,
  labels: Record<string, string>,
  seed: { volume: string; ref: CacheRef } | null,
  image: string,
  buildId: number,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = labels[CACHE_PATH_LABEL];
  if (!(await deps.executor.createVolume(volume, labels))) return;
  if (!seed || !(await deps.executor.hasVolume(seed.volume))) {
    onLine(`cache ${path}: new, empty`);
    return;
  }
  onLine(`cache ${path}: new, seeded from ${refLabel(seed.ref)}'s`);
  try {
    await deps.executor.copyVolume(seed.volume, volume, image, { signal, buildId });
  } catch (error) {
    if (signal.aborted) {
      // Half a copy would never be seeded again: drop it, the next build starts over.
      await deps.executor.removeVolume(volume).catch(() => undefined);
      throw error;
    }
    // A cache is an optimisation: a build whose image cannot copy it starts with an empty one.
    onLine(`cache ${path}: seeding failed (${(error as Error).message}); starting empty`);
  }
}

export async function prepareCaches(
  deps: CacheDeps,
  build: Build,
  rule: BuildRule,
  image: string,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<CacheMount[]> {
  const mounts: CacheMount[] = [];
  for (const plan of cachePlan(build, rule.cache ?? [])) {
    const volume = cacheVolumeName(deps.instance, rule.repository, plan.path, plan.ref);
    if (plan.readOnly) {
      // Never made here: a pull request must not create (or seed) a branch's cache.
      if (!(await deps.executor.hasVolume(volume))) {
        onLine(`cache ${plan.path}: ${refLabel(plan.ref)} has none yet, not mounted`);
        continue;
      }
      onLine(`cache ${plan.path}: ${refLabel(plan.ref)}'s, read-only`);
    } else {
      const labels = {
        [CACHE_LABEL]: rule.repository,
        [CACHE_PATH_LABEL]: plan.path,
        [CACHE_REF_LABEL]: refLabel(plan.ref),
      };
      const seed = plan.seedFrom && {
        volume: cacheVolumeName(deps.instance, rule.repository, plan.path, plan.seedFrom),
        ref: plan.seedFrom,
      };
      await once(`${deps.engine}\0${volume}`, () =>
        ensureOwnCache(deps, volume, labels, seed, image, build.id, onLine, signal),
      );
    }
    mounts.push({ volume, target: plan.path, readOnly: plan.readOnly });
    // Recorded before the container starts: gc by age never takes a cache a build is about to use.
    await deps
      .record?.({
        engine: deps.engine,
        volume,
        repository: rule.repository,
        path: plan.path,
        refType: plan.ref.refType,
        branch: plan.ref.branch,
        lastUsedAt: new Date().toISOString(),
      })
      .catch((error: unknown) =>
        onLine(`cache ${plan.path}: last use not recorded: ${(error as Error).message}`),
      );
  }
  return mounts;
}
