/** The full git ref of a branch or tag, as GitHub's payloads and the delivery list show it. */
import type { RefType } from './build.js';

export function gitRef(refType: RefType, name: string): string {
  return `${refType === 'branch' ? 'refs/heads' : 'refs/tags'}/${name}`;
}
