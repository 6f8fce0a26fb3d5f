/** sameRef: the one "same ref of the same repository" decision (scheduler, recovery, queue plan). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sameRef } from '../../src/domain/build.js';

const ref = (repository: string, refType: 'branch' | 'tag', branch: string) => ({
  repository,
  refType,
  branch,
});
const aliases = (name: string) => (name === 'old/os' ? 'acme/os' : name);

const cases: [string, ReturnType<typeof ref>, ReturnType<typeof ref>, boolean, boolean][] = [
  // what, a, b, same by name, same with aliases grouped
  ['same branch', ref('acme/os', 'branch', 'master'), ref('acme/os', 'branch', 'master'), true, true],
  ['other branch', ref('acme/os', 'branch', 'master'), ref('acme/os', 'branch', 'dev'), false, false],
  ['tag and branch of one name', ref('acme/os', 'tag', 'v1'), ref('acme/os', 'branch', 'v1'), false, false],
  ['other repository', ref('acme/os', 'branch', 'master'), ref('acme/fs', 'branch', 'master'), false, false],
  [
    'old name of the repository',
    ref('old/os', 'branch', 'master'),
    ref('acme/os', 'branch', 'master'),
    false,
    true,
  ],
];
for (const [what, a, b, byName, grouped] of cases) {
  it(`sameRef: ${what}`, () => {
    assert.equal(sameRef(a, b), byName);
    assert.equal(sameRef(a, b, aliases), grouped);
  });
}
