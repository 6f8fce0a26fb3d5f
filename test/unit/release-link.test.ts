/** The release link is shared by a rule's tags, and never taken from a branch (pipeline/name-owner.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Build } from '../../src/domain/build.js';
import { nameTakenBy, type PublisherLookup } from '../../src/pipeline/name-owner.js';

const target = mkdtempSync(join(tmpdir(), 'ab-release-link-'));
const publishers = new Map<string, Pick<Build, 'id' | 'repository' | 'refType' | 'branch'>>([
  ['k-tag-v1.efi', { id: 1, repository: 'acme/os', refType: 'tag', branch: 'v1' }],
  ['k-master.efi', { id: 2, repository: 'acme/os', refType: 'branch', branch: 'master' }],
]);
const store = {
  latestWithArtifact: async (name: string) => (publishers.get(name) as Build | undefined) ?? null,
} as PublisherLookup;
for (const kernel of publishers.keys()) writeFileSync(join(target, kernel), 'k');
symlinkSync('k-tag-v1.efi', join(target, 'release.efi'));
symlinkSync('k-master.efi', join(target, 'hijacked-release.efi'));

describe('release link ownership', () => {
  const v2 = { refType: 'tag', branch: 'v2' } as const;

  it("a tag build moves the release link from another tag's kernel", async () => {
    assert.equal(
      await nameTakenBy(store, target, v2, ['k-tag-v2.efi', 'release.efi'], ['release.efi']),
      null,
    );
  });

  it('the same link is refused when it is not the release link', async () => {
    assert.match(
      (await nameTakenBy(store, target, v2, ['release.efi'])) ?? '',
      /^name release\.efi belongs to tag v1 of acme\/os \(build #1\)$/,
    );
  });

  it("a release link pointing to a branch's kernel is never taken by a tag", async () => {
    assert.match(
      (await nameTakenBy(store, target, v2, ['hijacked-release.efi'], ['hijacked-release.efi'])) ?? '',
      /belongs to branch master/,
    );
  });

  it('a branch build never takes a tag-shared name from a tag', async () => {
    const branch = { refType: 'branch', branch: 'v2' } as const;
    assert.match(
      (await nameTakenBy(store, target, branch, ['release.efi'], ['release.efi'])) ?? '',
      /belongs to tag v1/,
    );
  });
});
