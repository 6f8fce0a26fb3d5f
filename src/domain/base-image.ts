/**
 * Which committed tag an incremental build starts from: the exact tag of its branch, else the
 * longest existing tag the branch starts with (`release-1.2-fix` → `release-1.2`), else `master`.
 */
export function selectBaseTag(branchTag: string, available: readonly string[]): string | null {
  if (available.includes(branchTag)) return branchTag;
  const prefixes = available.filter((tag) => branchTag.startsWith(tag)).sort((a, b) => b.length - a.length);
  if (prefixes[0]) return prefixes[0];
  return available.includes('master') ? 'master' : null;
}

/** `zero-os/initramfs:{branch}` → { repo: 'zero-os/initramfs', tagTemplate: '{branch}' }. */
export function splitImageTemplate(template: string): { repo: string; tagTemplate: string } {
  const slash = template.lastIndexOf('/');
  const colon = template.lastIndexOf(':');
  if (colon > slash) return { repo: template.slice(0, colon), tagTemplate: template.slice(colon + 1) };
  return { repo: template, tagTemplate: 'latest' };
}
