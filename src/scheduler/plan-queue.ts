/**
 * The scheduling decision, pure: which queued builds may start now, and why the others wait.
 * - at most `concurrency` builds run at once;
 * - never two builds of the same repository and ref at once;
 * - an incremental build waits while a full build of its base repository for the same ref is
 *   queued or running, so it starts from the fresh image.
 */
import type { Build } from '../domain/build.js';
import type { BuildRule } from '../domain/rule.js';

export interface QueuePlan {
  start: Build[];
  waiting: Map<number, string>;
}

export function planQueue(
  queued: readonly Build[],
  running: readonly Build[],
  concurrency: number,
  rules: ReadonlyMap<string, BuildRule>,
  paused = false,
): QueuePlan {
  const start: Build[] = [];
  const waiting = new Map<number, string>();
  const busy = [...running];
  for (const build of queued) {
    if (paused) {
      waiting.set(build.id, 'queue paused');
      continue;
    }
    const sameRef = busy.find(
      (b) => b.repository === build.repository && b.refType === build.refType && b.branch === build.branch,
    );
    if (sameRef) {
      waiting.set(build.id, `same branch busy (#${sameRef.id})`);
      continue;
    }
    const base = rules.get(build.repository)?.base;
    const baseBuild = base
      ? [...busy, ...queued].find(
          (b) => b.repository === base && b.branch === build.branch && b.kind === 'full',
        )
      : undefined;
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
