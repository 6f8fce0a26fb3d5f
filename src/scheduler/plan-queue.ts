/**
 * The scheduling decision, pure: which queued builds may start now, and why the others wait.
 * - at most `concurrency` builds run at once (`running`: every replica's, from the store);
 * - never two builds of the same repository and ref at once;
 * - an incremental build waits while a full build of its base repository for the same ref is
 *   queued or running, so it starts from the fresh image.
 * Builds are grouped by their rule's canonical name (domain/rule-set.ts): a push under a renamed
 * repository's old name and one under its new name are the same repository here.
 */
import { sameRef, type BuildRef } from '../domain/build.js';
import type { RuleLookup } from '../domain/rule.js';
import { canonicalName } from '../domain/rule-set.js';

export interface QueuePlan<T extends BuildRef = BuildRef> {
  start: T[];
  waiting: Map<number, string>;
}

const fullBuildKey = (repository: string, branch: string) => `${repository}\0${branch}`;

export function planQueue<T extends BuildRef>(
  queued: readonly T[],
  running: readonly BuildRef[],
  concurrency: number,
  rules: RuleLookup,
): QueuePlan<T> {
  const start: T[] = [];
  const waiting = new Map<number, string>();
  const busy: BuildRef[] = [...running];
  // The first full build of each repository and branch, running ones first: looked up once per
  // queued build, so thousands queued cost one pass, not one pass each.
  const fullBuilds = new Map<string, BuildRef>();
  for (const b of [...running, ...queued]) {
    const key = fullBuildKey(canonicalName(rules, b.repository), b.branch);
    if (b.kind === 'full' && !fullBuilds.has(key)) fullBuilds.set(key, b);
  }
  for (const build of queued) {
    const busyRef = busy.find((b) => sameRef(b, build, (name) => canonicalName(rules, name)));
    if (busyRef) {
      waiting.set(build.id, `same branch busy (#${busyRef.id})`);
      continue;
    }
    const base = rules.get(build.repository)?.base;
    const baseBuild = base ? fullBuilds.get(fullBuildKey(base, build.branch)) : undefined;
    if (baseBuild) {
      waiting.set(build.id, `waiting for base build #${baseBuild.id}`);
      continue;
    }
    if (busy.length >= concurrency) {
      waiting.set(build.id, `concurrency limit (${concurrency} running)`);
      continue;
    }
    start.push(build);
    busy.push(build);
  }
  return { start, waiting };
}
