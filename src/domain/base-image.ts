/**
 * Which committed tag an incremental build starts from: the exact tag of its ref, else the
 * longest tag of a ref of the same type that the ref's slug extends at a separator
 * (`release-1.2-fix` → `release-1.2`, `feature/x` → `feature`), else `master`.
 * Tags are ref slugs (domain/ref-slug.ts). A tag is never chosen for a branch nor a branch for a
 * tag by prefix, and a prefix must end where a name part ends, so `release-1.2` is not the base of
 * `release-1.20`, nor `m` (anyone's branch) the base of `master`.
 */
import { decodeRefSlug, slugRefType } from './ref-slug.js';

const SEPARATORS = new Set(['-', '.', '_']);

export function selectBaseTag(slug: string, available: readonly string[]): string | null {
  if (available.includes(slug)) return slug;
  const refType = slugRefType(slug);
  const prefixes = available
    .filter(
      (tag) =>
        slug.startsWith(tag) &&
        SEPARATORS.has(slug[tag.length] ?? '') &&
        decodeRefSlug(tag)?.refType === refType,
    )
    .sort((a, b) => b.length - a.length);
  if (prefixes[0]) return prefixes[0];
  return available.includes('master') ? 'master' : null;
}

/** `repo[:tag]` → repo and tag (`latest` when none); a registry's `host:port/` is part of the repo. */
export function splitImageName(image: string): { repo: string; tag: string } {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/')
    ? { repo: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { repo: image, tag: 'latest' };
}

/** `zero-os/initramfs:{branch}` → { repo: 'zero-os/initramfs', tagTemplate: '{branch}' }. */
export function splitImageTemplate(template: string): { repo: string; tagTemplate: string } {
  const { repo, tag } = splitImageName(template);
  return { repo, tagTemplate: tag };
}
