import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RefType } from '../../src/domain/build.js';
import { decodeRefSlug, MAX_SLUG_LENGTH, refSlug } from '../../src/domain/ref-slug.js';

/** What Docker accepts as a tag, and what is safe as one part of a file name. */
const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function assertSafe(slug: string): void {
  assert.match(slug, DOCKER_TAG);
  assert.ok(slug.length <= MAX_SLUG_LENGTH, `${slug} is ${slug.length} characters`);
}

describe('refSlug', () => {
  it('gives the refs of issue 11 five different names, master keeping its own', () => {
    const refs: [RefType, string][] = [
      ['branch', 'master'],
      ['branch', '-master'],
      ['branch', '@/master'],
      ['tag', 'master'],
      ['branch', 'émaster'],
    ];
    const slugs = refs.map(([type, name]) => refSlug(type, name));
    assert.equal(slugs[0], 'master');
    assert.equal(new Set(slugs).size, 5, slugs.join(' '));
    for (const slug of slugs) assertSafe(slug);
  });

  const table: [RefType, string, string][] = [
    ['branch', 'master', 'master'],
    ['branch', 'release-1.2', 'release-1.2'],
    ['branch', 'development', 'development'],
    ['branch', 'feature/x', 'feature_2fx'],
    ['branch', 'my_branch', 'my__branch'],
    ['branch', '-master', '_2dmaster'],
    ['branch', '@/master', '_40_2fmaster'],
    ['branch', 'émaster', '_c3_a9master'],
    ['branch', 'tag-v1.0', 'tag_2dv1.0'],
    ['branch', 'tag', 'tag'],
    ['tag', 'v1.0', 'tag-v1.0'],
    ['tag', 'master', 'tag-master'],
    ['tag', '-x', 'tag-_2dx'],
    ['branch', '😀', '_f0_9f_98_80'],
    ['branch', '\ud800', '_ed_a0_80'],
    ['pull', 'pr-12', 'pr-12'],
    ['branch', 'pr-12', 'pr_2d12'],
    ['branch', 'pr', 'pr'],
    ['branch', 'pr_1', 'pr__1'],
    ['tag', 'pr-12', 'tag-pr_2d12'],
  ];
  for (const [type, name, slug] of table) {
    it(`${type} ${JSON.stringify(name)} → ${slug}, and back`, () => {
      assert.equal(refSlug(type, name), slug);
      assert.deepEqual(decodeRefSlug(slug), { refType: type, name });
    });
  }

  it('keeps a 101-character branch apart from its 100-character prefix, within the length', () => {
    const long = 'b'.repeat(101);
    const short = long.slice(0, 100);
    assert.equal(refSlug('branch', short), short);
    assert.notEqual(refSlug('branch', long), refSlug('branch', short));
    assertSafe(refSlug('branch', long));
    assert.equal(decodeRefSlug(refSlug('branch', long)), null, 'a cut slug decodes to no ref');
    assert.notEqual(refSlug('branch', `${'a'.repeat(200)}x`), refSlug('branch', `${'a'.repeat(200)}y`));
    assert.notEqual(refSlug('branch', 'a'.repeat(120)), refSlug('tag', 'a'.repeat(120)));
  });

  it('never gives a branch the name of a pull request, nor takes a pull name that is not pr-<n>', () => {
    for (const name of ['pr-1', 'pr-12', 'pr-1-x', 'pr-', 'pr-12/a'])
      assert.ok(!refSlug('branch', name).startsWith('pr-'), name);
    assert.ok(!refSlug('branch', `pr-${'9'.repeat(150)}`).startsWith('pr-'), 'a cut slug too');
    assert.throws(() => refSlug('pull', 'feature'));
    assert.throws(() => refSlug('pull', 'pr-01'));
    assert.equal(decodeRefSlug('pr-x'), null);
  });

  it('rejects what is not a canonical slug', () => {
    for (const slug of ['_61', '-master', 'tag-_', 'a_', 'a_zz', 'a/b', 'a_hffff', '_c3']) {
      assert.equal(decodeRefSlug(slug), null, slug);
    }
  });

  it('is injective over generated refs: every name decodes back, no two refs share a slug', () => {
    // Deterministic generator (mulberry32, fixed seed), so a failure names the same refs every run.
    let seed = 11;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const alphabet = [
      ...'abtgm-_./@',
      'tag-',
      'pr-',
      'master',
      '_2f',
      '_h',
      '-',
      '.',
      'é',
      '😀',
      '\ud800',
      '\udc00',
      ' ',
      '%',
    ];
    const seen = new Map<string, string>();
    for (let i = 0; i < 30_000; i += 1) {
      const pick = random(6);
      const type: RefType = pick === 0 ? 'tag' : pick === 1 ? 'pull' : 'branch';
      const length = random(5) === 0 ? 60 + random(80) : random(12);
      let name = '';
      while (name.length < length) name += alphabet[random(alphabet.length)];
      if (type === 'pull') name = `pr-${1 + random(5000)}`;
      const slug = refSlug(type, name);
      assertSafe(slug);
      const key = `${type}:${name}`;
      const other = seen.get(slug);
      assert.ok(other === undefined || other === key, `${key} and ${other} share ${slug}`);
      seen.set(slug, key);
      const decoded = decodeRefSlug(slug);
      if (decoded) assert.deepEqual(decoded, { refType: type, name });
      else assert.ok(slug.length > MAX_SLUG_LENGTH - 30 && slug.includes('_h'), `${key} did not decode`);
    }
    assert.ok(seen.size > 20_000, `only ${seen.size} distinct refs generated`);
  });
});
