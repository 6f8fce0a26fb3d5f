/**
 * Retention in the registry: deletes the committed-image tags the plan (registry-tag-plan.ts) no
 * longer keeps, through the Distribution API (HEAD the tag's manifest for its digest, DELETE the
 * manifest by digest).
 *
 * Deleting by digest deletes every tag naming that digest, so a digest is deleted only when no
 * remaining tag of the repository names it: the digests of all tags that stay (kept ones, and
 * tags that are not ours) are read first. A queued or running build's base tag (exact → longest
 * prefix → master) also stays. A registry that fails or does not answer (every request has a
 * deadline) is reported as a problem of that repository; retention goes on with the next one.
 */
import { selectBaseTag } from '../domain/base-image.js';
import type { Build } from '../domain/build.js';
import { baseImageRef } from '../domain/pull-request.js';
import { refSlug } from '../domain/ref-slug.js';
import type { RegistryClient } from '../executor/registry/registry-client.js';
import { planRegistryTags } from './registry-tag-plan.js';

export interface RegistryGcResult {
  /** Tags deleted from the registry. */
  tags: number;
  /** Tags retention would delete but that share their image with a tag that stays. */
  shared: number;
  /** One line per repository retention could not handle (registry down, deletes disabled…). */
  problems: string[];
}

export async function pruneRegistryTags(options: {
  registry: Pick<RegistryClient, 'tags' | 'digest' | 'deleteManifest'>;
  finished: readonly Build[];
  active: readonly Build[];
  keep: number;
  imageAgeMs: number;
  now?: number;
}): Promise<RegistryGcResult> {
  const { registry, active } = options;
  const plan = planRegistryTags({ ...options, now: options.now ?? Date.now() });
  const result: RegistryGcResult = { tags: 0, shared: 0, problems: [] };
  for (const [repo, ours] of plan.remove) {
    try {
      const tags = await registry.tags(repo);
      // What an active build starts from stays, even when its ref has no kept build of its own.
      // A pull request starts from the image of the branch it merges into.
      const inUse = new Set(
        active.map((b) => {
          const ref = baseImageRef(b);
          return selectBaseTag(refSlug(ref.refType, ref.branch), tags);
        }),
      );
      const doomed = tags.filter((tag) => ours.has(tag) && !inUse.has(tag));
      if (doomed.length === 0) continue;
      const staying = tags.filter((tag) => !doomed.includes(tag));
      const kept = new Set(await digests(registry, repo, staying));
      const byDigest = new Map<string, string[]>();
      for (const [tag, digest] of zip(doomed, await digests(registry, repo, doomed))) {
        if (!digest) continue; // gone meanwhile
        if (kept.has(digest)) result.shared += 1;
        else byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
      }
      for (const [digest, tagsOfDigest] of byDigest)
        if (await registry.deleteManifest(repo, digest)) result.tags += tagsOfDigest.length;
    } catch (error) {
      result.problems.push((error as Error).message);
    }
  }
  return result;
}

/** One at a time: retention is no hurry, and a registry that struggles is not flooded. */
async function digests(
  registry: Pick<RegistryClient, 'digest'>,
  repo: string,
  tags: readonly string[],
): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const tag of tags) out.push(await registry.digest(repo, tag));
  return out;
}

const zip = <A, B>(a: readonly A[], b: readonly B[]): [A, B][] => a.map((x, i) => [x, b[i]!]);
