import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBaseTag, splitImageTemplate } from '../../src/domain/base-image.js';
import { formatDuration, parseDuration, parseMemory } from '../../src/domain/duration.js';
import {
  renderTemplate,
  sanitizeNamePart,
  templateValues,
  unknownPlaceholders,
} from '../../src/domain/template.js';
import { refNameProblem } from '../../src/forge/github/ref-name.js';

describe('sanitizeNamePart', () => {
  const cases: [string, string][] = [
    ['master', 'master'],
    ['feature/x', 'feature-x'],
    ['../../x', 'x'],
    ['..', '_'],
    ['.hidden', 'hidden'],
    ['$(touch /tmp/pwned)', '-touch-tmp-pwned-'.replace(/^-/, '')],
    ['it\'s "quoted"', 'it-s-quoted-'],
    ['ünïcødé', 'n-c-d-'],
    ['a'.repeat(300), 'a'.repeat(100)],
    ['', '_'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input.slice(0, 20))} → ${expected.slice(0, 20)}`, () => {
      const out = sanitizeNamePart(input);
      assert.equal(out, expected);
      assert.match(out, /^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
    });
  }
});

describe('renderTemplate', () => {
  const values = templateValues(
    'zero-os/core0',
    'branch',
    'feature/x',
    '0123456789abcdef0123456789abcdef01234567',
  );
  it('renders the Zero-OS kernel names, `{branch}` as the ref slug', () => {
    assert.equal(
      renderTemplate('zero-os-{branch}-{name}-{short}.efi', values),
      'zero-os-feature_2fx-core0-01234567.efi',
    );
    assert.equal(renderTemplate('zero-os-{branch}.efi', values), 'zero-os-feature_2fx.efi');
    const master = templateValues('zero-os/initramfs', 'branch', 'master', 'f'.repeat(40));
    assert.equal(renderTemplate('zero-os-{branch}-generic.efi', master), 'zero-os-master-generic.efi');
    const tag = templateValues('zero-os/initramfs', 'tag', 'v1.0', 'f'.repeat(40));
    assert.equal(renderTemplate('zero-os/initramfs:{branch}', tag), 'zero-os/initramfs:tag-v1.0');
    assert.equal(renderTemplate('{repository}', values), 'zero-os-core0');
    assert.equal(
      renderTemplate('{owner}:{commit}', values),
      'zero-os:0123456789abcdef0123456789abcdef01234567',
    );
  });
  it('never yields a path from a hostile branch', () => {
    const hostile = templateValues('a/b', 'branch', '../../etc/passwd', 'f'.repeat(40));
    assert.ok(!renderTemplate('{branch}', hostile).includes('/'));
    assert.notEqual(renderTemplate('{branch}', templateValues('a/b', 'branch', '..', 'f'.repeat(40))), '..');
  });
  it('reports unknown placeholders', () => {
    assert.deepEqual(unknownPlaceholders('x-{branch}-{nope}-{}'), ['nope', '']);
  });
});

describe('selectBaseTag', () => {
  const cases: [string, string[], string | null][] = [
    ['master', ['master', 'dev'], 'master'],
    ['dev', ['master', 'dev'], 'dev'],
    ['release-1.2-fix', ['master', 'release', 'release-1.2'], 'release-1.2'],
    ['feature_2fx', ['master', 'feature'], 'feature'],
    ['feature-x', ['master'], 'master'],
    // A prefix must end where a name part ends: `m` (anyone's branch) is not master's base.
    ['master', ['m', 'mast'], null],
    ['release-1.20', ['master', 'release-1.2'], 'master'],
    // Tags and branches never stand in for each other by prefix; master stays the fallback.
    ['tag-v1.0-rc1', ['master', 'tag', 'tag-v1.0'], 'tag-v1.0'],
    ['tag-v2', ['master', 'tag'], 'master'],
    ['tag_2dx', ['tag-x', 'tag'], 'tag'],
    ['feature-x', ['dev'], null],
    ['x', [], null],
  ];
  for (const [branch, tags, expected] of cases) {
    it(`${branch} among [${tags.join(',')}] → ${expected}`, () =>
      assert.equal(selectBaseTag(branch, tags), expected));
  }
  it('splits image templates', () => {
    assert.deepEqual(splitImageTemplate('zero-os/initramfs:{branch}'), {
      repo: 'zero-os/initramfs',
      tagTemplate: '{branch}',
    });
    assert.deepEqual(splitImageTemplate('localhost:5000/x'), {
      repo: 'localhost:5000/x',
      tagTemplate: 'latest',
    });
  });
});

describe('durations and sizes', () => {
  it('parses what config allows', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('45m'), 2_700_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('soon'), null);
    assert.equal(parseDuration('0s'), null);
    assert.equal(formatDuration(2_700_000), '45m');
    assert.equal(parseMemory('4g'), 4 * 1024 ** 3);
    assert.equal(parseMemory('512m'), 512 * 1024 ** 2);
    assert.equal(parseMemory('lots'), null);
  });
});

describe('refNameProblem (git check-ref-format)', () => {
  const valid = ['master', 'feature/x', 'release-1.2', '$(touch${IFS}/tmp/pwned)', "it's", 'ünïcødé', 'a"b'];
  const invalid = [
    '../../x',
    'a..b',
    'with space',
    'a\nb',
    'a\0b',
    '/lead',
    'trail/',
    'a//b',
    'x.lock',
    'end.',
    '.hidden',
    'a@{b',
    'a~b',
    'a:b',
    'a\\b',
    'lone\ud800surrogate',
    'x'.repeat(300),
    '',
  ];
  for (const name of valid)
    it(`accepts ${JSON.stringify(name)}`, () => assert.equal(refNameProblem(name), null));
  for (const name of invalid)
    it(`refuses ${JSON.stringify(name.slice(0, 20))}`, () => assert.notEqual(refNameProblem(name), null));
});
