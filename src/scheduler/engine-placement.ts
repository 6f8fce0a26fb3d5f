/** Which engine each planned build starts on (placement.ts decides for one build). */
import type { BuildRef } from '../domain/build.js';
import type { RuleLookup } from '../domain/rule.js';
import type { Engine } from '../executor/engine.js';
import type { EnginePool } from '../executor/engine-pool.js';
import type { Executor } from '../executor/executor.js';
import { chooseEngine, freeEngines, wantedImage } from './placement.js';
import { warmCacheEngines } from '../domain/cache.js';
import type { CacheUse } from '../store/store.js';

export interface PlacementInput {
  engines: readonly Engine[];
  /** Builds running now per engine name (updated as builds are placed). */
  running: Map<string, number>;
  rules: RuleLookup;
  registryTags: ((repo: string) => Promise<string[]>) | null;
  /** Recorded build cache uses: a tie-breaker towards the engine with the build's warm cache. */
  cacheUses?: () => Promise<readonly CacheUse[]>;
}

export async function placeBuilds<T extends BuildRef>(
  builds: readonly T[],
  input: PlacementInput,
): Promise<{ start: { build: T; engine: Engine }[]; waiting: Map<number, string> }> {
  const start: { build: T; engine: Engine }[] = [];
  const waiting = new Map<number, string>();
  for (const build of builds) {
    const rule = input.rules.get(build.repository);
    // The image is looked up only when there is a choice to make.
    const image =
      rule && freeEngines(input.engines, input.running).length > 1
        ? await wantedImage(rule, input.rules, build, input.registryTags)
        : null;
    const warm =
      rule?.cache?.length && input.cacheUses && freeEngines(input.engines, input.running).length > 1
        ? warmCacheEngines(await input.cacheUses().catch(() => []), rule.repository, build)
        : undefined;
    const engine = await chooseEngine(input.engines, input.running, image, warm);
    if (!engine) {
      waiting.set(build.id, 'every engine is busy');
      continue;
    }
    input.running.set(engine.name, (input.running.get(engine.name) ?? 0) + 1);
    start.push({ build, engine });
  }
  return { start, waiting };
}

/**
 * Why no build can start now, or null. One engine is pinged here, as before engines existed;
 * several are watched by the pool in the background (a hung one costs no wait here).
 */
export async function engineProblem(pool: EnginePool, single: Executor): Promise<string | null> {
  if (pool.engines.length === 1) {
    try {
      await single.ping();
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (pool.up().length > 0) return null;
  return `no engine is up (${pool
    .statuses()
    .map((e) => `${e.name}: ${e.reason}`)
    .join('; ')})`;
}
