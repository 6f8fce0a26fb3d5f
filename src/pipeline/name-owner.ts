/**
 * Names a build publishes must not belong to another ref. `{branch}` alone cannot collide
 * (domain/ref-slug.ts), but whole templates can: the built-in link `zero-os-{branch}.efi` of a
 * `zero-os/core0` branch `master-generic` is the link `zero-os-{branch}-generic.efi` of
 * `zero-os/initramfs` `master`. So before a build runs, each kernel or link name it will write is
 * looked up: when a build of another ref published the kernel that name is (or points to), the
 * build is refused. Builds of the same ref in other repositories may share a name (the Zero-OS
 * components share `zero-os-{branch}.efi` on purpose). A release link (domain/publish-names.ts) is
 * shared by every tag: a tag build may move it from another tag's kernel, never from a branch's.
 */
import { lstat, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Build } from '../domain/build.js';
import type { Store } from '../store/store.js';

export type PublisherLookup = Pick<Store, 'latestWithArtifact'>;

/** Why `build` may not write `names` in `kernelTarget`, or null when it may. */
export async function nameTakenBy(
  store: PublisherLookup,
  kernelTarget: string,
  build: Pick<Build, 'refType' | 'branch'>,
  names: readonly string[],
  /** Names any tag build may take over (the release link); only for a tag build. */
  sharedByTags: readonly string[] = [],
): Promise<string | null> {
  for (const name of names) {
    const path = join(kernelTarget, name);
    const stat = await lstat(path).catch(() => null);
    if (!stat) continue;
    const kernel = stat.isSymbolicLink() ? basename(await readlink(path)) : name;
    const owner = await store.latestWithArtifact(kernel);
    const shared = build.refType === 'tag' && owner?.refType === 'tag' && sharedByTags.includes(name);
    if (owner && !shared && (owner.refType !== build.refType || owner.branch !== build.branch)) {
      return `name ${name} belongs to ${owner.refType} ${owner.branch} of ${owner.repository} (build #${owner.id})`;
    }
  }
  return null;
}
