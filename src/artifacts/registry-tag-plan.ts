/**
 * Which committed-image tags retention keeps in the registry and which it may delete. Pure: the
 * builds in, a plan out (registry-retention.ts applies it).
 *
 * A tag is ours when a successful build recorded it as its `image`. It is kept while some build
 * naming it is among the newest `keep` image builds of its ref and that ref is live: its newest
 * build (in any state) is younger than `imageAgeMs`, or the ref is branch `master` (the base every
 * incremental build falls back to). A queued or running build keeps its ref live. Ours and not
 * kept: deleted. Tags no build of ours names (pushed by hand, another service) are left alone.
 */
import { splitImageTemplate } from '../domain/base-image.js';
import type { Build } from '../domain/build.js';

/** The branch every base lookup falls back to (domain/base-image.ts): its image always stays. */
const PROTECTED_BRANCH = 'master';

export interface TagPlan {
  /** Image repository (`zero-os/initramfs`) → tags to keep. */
  keep: Map<string, Set<string>>;
  /** Image repository → tags of ours that may go. */
  remove: Map<string, Set<string>>;
}

const refKey = (b: Pick<Build, 'repository' | 'refType' | 'branch'>) =>
  `${b.repository}\0${b.refType}\0${b.branch}`;

function add(map: Map<string, Set<string>>, repo: string, tag: string): void {
  if (!map.has(repo)) map.set(repo, new Set());
  map.get(repo)!.add(tag);
}

export function planRegistryTags(options: {
  /** Finished builds, any order. */
  finished: readonly Build[];
  /** Queued and running builds. */
  active: readonly Build[];
  keep: number;
  imageAgeMs: number;
  now: number;
}): TagPlan {
  const newest = new Map<string, number>();
  const touch = (build: Build, at: number) =>
    newest.set(refKey(build), Math.max(newest.get(refKey(build)) ?? 0, at));
  for (const build of options.finished) touch(build, Date.parse(build.finishedAt ?? build.createdAt));
  for (const build of options.active) touch(build, options.now);
  const live = (build: Build) =>
    (build.refType === 'branch' && build.branch === PROTECTED_BRANCH) ||
    options.now - (newest.get(refKey(build)) ?? 0) <= options.imageAgeMs;

  const plan: TagPlan = { keep: new Map(), remove: new Map() };
  const seen = new Map<string, number>();
  const withImage = options.finished.filter((b) => b.state === 'success' && b.image);
  for (const build of withImage.sort((a, b) => b.id - a.id)) {
    const { repo, tagTemplate: tag } = splitImageTemplate(build.image!);
    const count = (seen.get(refKey(build)) ?? 0) + 1;
    seen.set(refKey(build), count);
    add(count <= options.keep && live(build) ? plan.keep : plan.remove, repo, tag);
  }
  // A tag one build keeps stays, whatever older builds of other refs say about it.
  for (const [repo, tags] of plan.remove) for (const tag of plan.keep.get(repo) ?? []) tags.delete(tag);
  return plan;
}
