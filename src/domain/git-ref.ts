/** The full git ref of a branch or tag, as GitHub's payloads and the delivery list show it. */
import type { RefType } from './build.js';

export function gitRef(refType: RefType, name: string): string {
  // A pull build's name is `pr-<n>`; GitHub keeps its head at refs/pull/<n>/head.
  if (refType === 'pull') return `refs/pull/${name.replace(/^pr-/, '')}/head`;
  return `${refType === 'branch' ? 'refs/heads' : 'refs/tags'}/${name}`;
}
