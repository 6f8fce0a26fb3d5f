/**
 * The claiming half of a scheduling pass (scheduler.ts runs one pass at a time, once it found a
 * build queued and an engine up): the builds this replica claims, planned with every replica's
 * running builds inside Store.claimBuilds (one replica plans at a time), each with the engine it
 * goes to; why each queued build it leaves waits; and the queued builds of a repository that is
 * no longer configured, failed.
 */
import type { Build, BuildRef } from '../domain/build.js';
import type { Engine } from '../executor/engine.js';
import type { EnginePool } from '../executor/engine-pool.js';
import { chooseClaims } from './claim-pass.js';
import { announceClaimed, moveBuild } from './move-build.js';
import type { SchedulerOptions } from './scheduler-options.js';

export interface ClaimOwner {
  /** This replica's name in the store. */
  instance: string;
  leaseMs: number;
  /** Told, inside the pass, why each queued build not claimed waits. */
  onWaiting: (waiting: Map<number, string>) => void;
}

export async function claimBuilds(
  options: SchedulerOptions,
  pool: EnginePool,
  owner: ClaimOwner,
): Promise<{ build: Build; engine: Engine }[]> {
  const { store, rules, concurrency } = options;
  const engines = new Map<number, Engine>();
  const unconfigured: BuildRef[] = [];
  // Where caches are warm, for placement: read here, since the pass itself runs inside the claim,
  // and only with several engines, the only case placement asks (engine-placement.ts).
  const cacheUses = pool.engines.length > 1 ? await store.listCacheUses().catch(() => []) : undefined;
  const claimed = await store.claimBuilds(owner.instance, owner.leaseMs, async (view) => {
    const pass = await chooseClaims(view, {
      engines: pool,
      rules,
      concurrency,
      logsDirectory: options.logsDirectory,
      registryTags: options.registryTags ?? null,
      ...(cacheUses ? { cacheUses } : {}),
      // Taken inside the pass: after the builds it saw end, so no two runs' times overlap.
      now: new Date().toISOString(),
    });
    owner.onWaiting(pass.waiting);
    for (const [id, engine] of pass.engines) engines.set(id, engine);
    unconfigured.push(...pass.unconfigured);
    return pass.claims;
  });
  announceClaimed(options, claimed);
  for (const build of unconfigured)
    await moveBuild(options, build.id, ['queued'], 'failed', {
      reason: `repository ${build.repository} is no longer configured`,
      cause: 'config',
      finishedAt: new Date().toISOString(),
    });
  return claimed.map((build) => ({ build, engine: engines.get(build.id)! }));
}
