/** The scheduler's side of engines: placing planned builds, and cleaning an engine that came back. */
import type { BuildRef } from '../domain/build.js';
import type { BuildRule } from '../domain/rule.js';
import type { Engine } from '../executor/engine.js';
import { chooseEngine, freeEngines, wantedImage } from './placement.js';

export interface PlacementInput {
  engines: readonly Engine[];
  /** Builds running now per engine name (updated as builds are placed). */
  running: Map<string, number>;
  rules: ReadonlyMap<string, BuildRule>;
  registryTags: ((repo: string) => Promise<string[]>) | null;
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
    const engine = await chooseEngine(input.engines, input.running, image);
    if (!engine) {
      waiting.set(build.id, 'every engine is busy');
      continue;
    }
    input.running.set(engine.name, (input.running.get(engine.name) ?? 0) + 1);
    start.push({ build, engine });
  }
  return { start, waiting };
}

/** Removes our containers on `engine` that belong to no build running there (`running` ids). */
export async function removeStrays(engine: Engine, running: ReadonlySet<number>): Promise<number> {
  let removed = 0;
  for (const container of await engine.executor.listManaged()) {
    if (container.buildId !== null && running.has(container.buildId)) continue;
    await engine.executor.destroy(container.id);
    removed += 1;
  }
  return removed;
}
