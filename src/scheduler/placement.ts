/**
 * Which engine a build starts on: one that is up and has a free slot, preferring one that already
 * holds the image the build starts from (the registry's current copy, by digest), so the image is
 * pulled only where it must be; among equals the least loaded (running / capacity), and among
 * equally loaded ones one that holds the build's warm cache (`warm`, domain/cache.ts).
 */
import { selectBaseTag, splitImageTemplate } from '../domain/base-image.js';
import type { BuildRef } from '../domain/build.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import { renderTemplate, templateValues } from '../domain/template.js';
import type { Engine } from '../executor/engine.js';

/**
 * The image a build will start from, as resolveImage will choose it (exact tag → prefix → master
 * over `listTags`); null when unknown (then no engine is preferred).
 */
export async function wantedImage(
  rule: BuildRule,
  rules: RuleLookup,
  ref: Pick<BuildRef, 'refType' | 'branch'>,
  listTags: ((repo: string) => Promise<string[]>) | null,
): Promise<string | null> {
  if (rule.image) return rule.image;
  const baseRule = rule.base ? rules.get(rule.base) : undefined;
  if (!baseRule?.commit || !listTags) return null;
  const values = templateValues(baseRule.repository, ref.refType, ref.branch, '');
  const repo = renderTemplate(splitImageTemplate(baseRule.commit).repo, values).toLowerCase();
  const tag = selectBaseTag(values.branch, await listTags(repo).catch(() => []));
  return tag ? `${repo}:${tag}` : null;
}

export function freeEngines(engines: readonly Engine[], running: ReadonlyMap<string, number>): Engine[] {
  return engines.filter((e) => e.up && (running.get(e.name) ?? 0) < e.capacity);
}

export async function chooseEngine(
  engines: readonly Engine[],
  running: ReadonlyMap<string, number>,
  image: string | null,
  warm: ReadonlySet<string> = new Set(),
): Promise<Engine | null> {
  const free = freeEngines(engines, running);
  const load = (e: Engine) => (running.get(e.name) ?? 0) / e.capacity;
  const cold = (e: Engine) => (warm.has(e.name) ? 0 : 1);
  const leastLoaded = (list: Engine[]) =>
    [...list].sort((a, b) => load(a) - load(b) || cold(a) - cold(b))[0] ?? null;
  if (free.length <= 1 || !image) return leastLoaded(free);
  // Probes run at once, each with its own short deadline: a hung engine delays this by that only.
  const holds = await Promise.all(free.map((e) => e.holds(image).catch(() => false)));
  const holding = free.filter((_, i) => holds[i]);
  return leastLoaded(holding.length > 0 ? holding : free);
}
