/**
 * Which registry tags retention keeps (src/artifacts/registry-tag-plan.ts) and how the digests
 * are checked before a delete (registry-retention.ts, here over an in-memory registry; the real
 * one is in test/integration/registry-retention.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pruneRegistryTags } from '../../src/artifacts/registry-retention.js';
import { planRegistryTags } from '../../src/artifacts/registry-tag-plan.js';
import type { Build } from '../../src/domain/build.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-30T00:00:00Z');
const build = (id: number, branch: string, image: string | null, daysAgo: number, state = 'success') =>
  ({
    id,
    repository: 'zero-os/initramfs',
    refType: 'branch',
    branch,
    state,
    image,
    createdAt: new Date(NOW - daysAgo * DAY - 60_000).toISOString(),
    finishedAt: new Date(NOW - daysAgo * DAY).toISOString(),
  }) as Build;
const sorted = (map: Map<string, Set<string>>) =>
  Object.fromEntries([...map].map(([repo, tags]) => [repo, [...tags].sort()]));
const plan = (finished: Build[], active: Build[] = [], keep = 2) =>
  planRegistryTags({ finished, active, keep, imageAgeMs: 30 * DAY, now: NOW });

describe('registry tag plan', () => {
  it('deletes the tag of a ref whose newest build is past the age; master never', () => {
    const result = plan([
      build(1, 'master', 'z/i:master', 90),
      build(2, 'gone', 'z/i:gone', 40),
      build(3, 'fresh', 'z/i:fresh', 40),
      build(4, 'fresh', null, 1, 'failed'), // a recent build keeps its ref live, even a failed one
    ]);
    assert.deepEqual(sorted(result.keep), { 'z/i': ['fresh', 'master'] });
    assert.deepEqual(sorted(result.remove), { 'z/i': ['gone'] });
  });

  it('per-commit tags: only the newest `keep` image builds of a ref keep theirs', () => {
    const result = plan([
      build(1, 'master', 'z/i:master-aaaa', 3),
      build(2, 'master', 'z/i:master-bbbb', 2),
      build(3, 'master', 'z/i:master-cccc', 1),
    ]);
    assert.deepEqual(sorted(result.keep), { 'z/i': ['master-bbbb', 'master-cccc'] });
    assert.deepEqual(sorted(result.remove), { 'z/i': ['master-aaaa'] });
  });

  it('a queued or running build keeps its ref live; a tag one kept build names stays', () => {
    const result = plan(
      [build(1, 'dev', 'z/i:dev', 60), build(2, 'x', 'z/i:shared', 60), build(3, 'y', 'z/i:shared', 1)],
      [build(9, 'dev', null, 60, 'running')],
    );
    assert.deepEqual(sorted(result.keep), { 'z/i': ['dev', 'shared'] });
    assert.deepEqual(sorted(result.remove), { 'z/i': [] });
  });
});

describe('registry tag deletes', () => {
  /** An in-memory registry: tag → digest. */
  function registry(tags: Record<string, string>) {
    const deleted: string[] = [];
    return {
      deleted,
      tags: async () => Object.keys(tags),
      digest: async (_repo: string, tag: string) => tags[tag] ?? null,
      deleteManifest: async (_repo: string, digest: string) => {
        deleted.push(digest);
        for (const [tag, d] of Object.entries(tags)) if (d === digest) delete tags[tag];
        return true;
      },
    };
  }
  const finished = [
    build(1, 'master', 'z/i:master', 90),
    build(2, 'a', 'z/i:a', 90),
    build(3, 'b', 'z/i:b', 90),
  ];
  /** One pass over the finished builds above: keep 2, images older than a day may go. */
  const prune = (reg: ReturnType<typeof registry>, active: Build[] = []) =>
    pruneRegistryTags({ registry: reg, finished, active, keep: 2, imageAgeMs: DAY, now: NOW });

  it('never deletes a digest a staying tag names (ours kept, or not ours at all)', async () => {
    const reg = registry({ master: 'sha256:m', a: 'sha256:m', b: 'sha256:x', 'by-hand': 'sha256:x' });
    const result = await prune(reg);
    assert.deepEqual(reg.deleted, []);
    assert.deepEqual({ tags: result.tags, shared: result.shared }, { tags: 0, shared: 2 });
  });

  it('deletes each doomed digest once, counting every tag it took', async () => {
    const reg = registry({ master: 'sha256:m', a: 'sha256:x', b: 'sha256:x' });
    const result = await prune(reg);
    assert.deepEqual(reg.deleted, ['sha256:x']);
    assert.equal(result.tags, 2);
  });

  it('keeps the tag a queued build of another ref starts from (longest prefix)', async () => {
    const reg = registry({ master: 'sha256:m', a: 'sha256:a', b: 'sha256:b' });
    const active = [build(9, 'a-fix', null, 0, 'queued')];
    const result = await prune(reg, active);
    assert.deepEqual(reg.deleted, ['sha256:b']);
    assert.equal(result.tags, 1);
  });

  it('keeps the tag of the branch a queued pull request merges into', async () => {
    const reg = registry({ master: 'sha256:m', a: 'sha256:a', b: 'sha256:b' });
    const pull = {
      ...build(9, 'pr-4', null, 0, 'queued'),
      refType: 'pull',
      pull: {
        number: 4,
        title: '',
        baseBranch: 'b',
        headRepository: 'x/i',
        fork: true,
        author: 'x',
        approval: 'approved',
      },
    } as Build;
    await prune(reg, [pull]);
    assert.deepEqual(reg.deleted, ['sha256:a'], 'b stays: the PR starts from it');
  });

  it('a registry error is one problem line, not a throw', async () => {
    const reg = registry({});
    reg.tags = async () => {
      throw new Error('registry 127.0.0.1:1: GET z/i/tags/list: fetch failed');
    };
    const result = await prune(reg);
    assert.deepEqual(result.problems, ['registry 127.0.0.1:1: GET z/i/tags/list: fetch failed']);
  });
});
