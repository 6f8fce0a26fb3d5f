/**
 * Build caches under gc (`autobuilder gc` and the retention timer): on each engine, caches no
 * build used for `maxAgeMs` go, then the least recently used until the engine's caches fit in
 * `maxBytes`. A cache a running build mounts (or is about to: its build is `running` in the store
 * from before the volume is prepared) is never removed, nor one any container mounts (the engine
 * refuses that removal; such a cache is skipped).
 */
import {
  CACHE_LABEL,
  CACHE_PATH_LABEL,
  CACHE_REF_LABEL,
  cachePlan,
  cacheVolumeName,
} from '../domain/cache.js';
import type { RuleLookup } from '../domain/rule.js';
import type { Executor } from '../executor/executor.js';
import type { Store } from '../store/store.js';

export interface CacheEntry {
  engine: string;
  volume: string;
  repository: string;
  path: string;
  /** `branch:master`, `tag:v1`. */
  ref: string;
  sizeBytes: number | null;
  /** ms since epoch of the last use (store), else of the volume's creation; 0 when unknown. */
  lastUsed: number;
  inUse: boolean;
}

export interface CacheLimits {
  maxBytes: number;
  maxAgeMs: number;
  now: number;
}

/** Which caches go: per engine, the unused-too-long, then oldest first past `maxBytes`. */
export function cachesToPrune(entries: readonly CacheEntry[], limits: CacheLimits): CacheEntry[] {
  const prune: CacheEntry[] = [];
  for (const engine of new Set(entries.map((e) => e.engine))) {
    const mine = entries.filter((e) => e.engine === engine);
    const candidates = mine
      .filter((e) => !e.inUse)
      .sort((a, b) => a.lastUsed - b.lastUsed || a.volume.localeCompare(b.volume));
    let total = mine.reduce((sum, e) => sum + (e.sizeBytes ?? 0), 0);
    for (const entry of candidates) {
      if (entry.lastUsed >= limits.now - limits.maxAgeMs && total <= limits.maxBytes) break;
      prune.push(entry);
      total -= entry.sizeBytes ?? 0;
    }
  }
  return prune;
}

export interface CacheEngine {
  name: string;
  executor: Executor;
}

export interface CacheGcOptions extends Omit<CacheLimits, 'now'> {
  engines: readonly CacheEngine[];
  store: Pick<Store, 'listRunning' | 'listCacheUses' | 'forgetCache'>;
  rules: RuleLookup;
  instance: string;
  now?: number;
  onProblem?: (engine: string, error: unknown) => void;
}

/** Every cache a running build mounts or seeds from, by volume name. */
async function busyVolumes(options: CacheGcOptions): Promise<Set<string>> {
  const busy = new Set<string>();
  for (const build of await options.store.listRunning()) {
    const rule = options.rules.get(build.repository);
    for (const plan of cachePlan(build, rule?.cache ?? [])) {
      busy.add(cacheVolumeName(options.instance, rule!.repository, plan.path, plan.ref));
      if (plan.seedFrom)
        busy.add(cacheVolumeName(options.instance, rule!.repository, plan.path, plan.seedFrom));
    }
  }
  return busy;
}

/** What each engine holds now, with the store's last use; engines that do not answer are left out. */
export async function listCaches(
  options: {
    engines: readonly CacheEngine[];
    store: Pick<Store, 'listCacheUses'>;
    onProblem?: (engine: string, error: unknown) => void;
  },
  busy: Set<string> = new Set(),
): Promise<CacheEntry[]> {
  const uses = new Map(
    (await options.store.listCacheUses()).map((u) => [`${u.engine}\0${u.volume}`, Date.parse(u.lastUsedAt)]),
  );
  const entries: CacheEntry[] = [];
  for (const engine of options.engines) {
    const volumes = await engine.executor.listVolumes().catch((error: unknown) => {
      options.onProblem?.(engine.name, error);
      return null;
    });
    for (const volume of volumes ?? []) {
      const repository = volume.labels[CACHE_LABEL];
      if (!repository) continue;
      entries.push({
        engine: engine.name,
        volume: volume.name,
        repository,
        path: volume.labels[CACHE_PATH_LABEL] ?? '',
        ref: volume.labels[CACHE_REF_LABEL] ?? '',
        sizeBytes: volume.sizeBytes,
        lastUsed: uses.get(`${engine.name}\0${volume.name}`) ?? (Date.parse(volume.createdAt ?? '') || 0),
        inUse: busy.has(volume.name) || (volume.refCount ?? 0) > 0,
      });
    }
  }
  return entries;
}

export async function pruneCaches(options: CacheGcOptions): Promise<{ caches: number; bytes: number }> {
  const busy = await busyVolumes(options);
  const entries = await listCaches(options, busy);
  const prune = cachesToPrune(entries, { ...options, now: options.now ?? Date.now() });
  const engines = new Map(options.engines.map((e) => [e.name, e.executor]));
  let caches = 0;
  let bytes = 0;
  for (const entry of prune) {
    // Asked again: a build may have started since (listing took a slow /system/df) and prepared
    // this cache without mounting it yet. Removed now, its container would get an empty volume
    // of the name, made by the engine without our labels: one gc never sees again.
    if ((await busyVolumes(options)).has(entry.volume)) continue;
    const removed = await engines
      .get(entry.engine)!
      .removeVolume(entry.volume)
      .catch((error: unknown) => {
        options.onProblem?.(entry.engine, error);
        return false;
      });
    if (!removed) continue; // mounted after all: kept
    await options.store.forgetCache(entry.engine, entry.volume);
    caches += 1;
    bytes += entry.sizeBytes ?? 0;
  }
  return { caches, bytes };
}
