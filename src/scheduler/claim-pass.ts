/**
 * One planning pass inside Store.claimBuilds: with the whole queue and every replica's running
 * builds, which queued builds start here and on which engine (plan-queue.ts, placement), and why
 * the others wait. Engine capacity counts every replica's builds on the engine (by its name).
 */
import { join } from 'node:path';
import type { BuildRef } from '../domain/build.js';
import type { RuleLookup } from '../domain/rule.js';
import type { Engine } from '../executor/engine.js';
import type { EnginePool } from '../executor/engine-pool.js';
import type { CacheUse, Claim, QueueView } from '../store/store.js';
import { placeBuilds } from './engine-placement.js';
import { planQueue } from './plan-queue.js';

export interface ClaimContext {
  engines: EnginePool;
  rules: RuleLookup;
  concurrency: number;
  logsDirectory: string;
  registryTags: ((repo: string) => Promise<string[]>) | null;
  /** Where build caches are warm (read before the pass: the pass runs inside the claim). */
  cacheUses?: readonly CacheUse[];
  now: string;
}

export interface ClaimPass {
  claims: Claim[];
  /** The engine each claimed build starts on. */
  engines: Map<number, Engine>;
  /** Planned builds whose repository is no longer configured: they fail, unclaimed. */
  unconfigured: BuildRef[];
  waiting: Map<number, string>;
}

export async function chooseClaims(view: QueueView, ctx: ClaimContext): Promise<ClaimPass> {
  const slots = ctx.engines.up().reduce((sum, e) => sum + e.capacity, 0);
  const plan = planQueue(view.queued, view.running, Math.min(ctx.concurrency, slots), ctx.rules);
  const perEngine = new Map<string, number>();
  for (const b of view.running) if (b.engine) perEngine.set(b.engine, (perEngine.get(b.engine) ?? 0) + 1);
  const placed = await placeBuilds(plan.start, {
    engines: ctx.engines.engines,
    running: perEngine,
    rules: ctx.rules,
    registryTags: ctx.registryTags,
    ...(ctx.cacheUses ? { cacheUses: async () => ctx.cacheUses! } : {}),
  });
  const pass: ClaimPass = { claims: [], engines: new Map(), unconfigured: [], waiting: plan.waiting };
  for (const [id, reason] of placed.waiting) pass.waiting.set(id, reason);
  for (const { build, engine } of placed.start) {
    if (!ctx.rules.get(build.repository)) {
      pass.unconfigured.push(build);
      continue;
    }
    pass.engines.set(build.id, engine);
    const logPath = join(ctx.logsDirectory, `build-${build.id}.log`);
    pass.claims.push({ id: build.id, patch: { startedAt: ctx.now, logPath, engine: engine.name } });
  }
  return pass;
}
