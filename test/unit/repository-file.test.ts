/** `.autobuilder.yaml` against the server's rule, and the branches/tags globs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRepositoryFile } from '../../src/config/repository-file.js';
import { matchesPatterns, refFilteredOut } from '../../src/domain/ref-filter.js';
import type { BuildRule } from '../../src/domain/rule.js';
import { makeRule } from '../helpers/build-fixture.js';

const server = makeRule({
  image: 'ubuntu:18.04',
  checkout: '/os',
  steps: ['make'],
  env: { A: 'server', KEEP: 'k' },
  publish: 'os-{branch}.efi',
  timeoutMs: 60 * 60_000,
});
const base: BuildRule = { ...server, repository: 'acme/base', commit: 'acme/base:{branch}' };
const rules = new Map([
  ['acme/os', server],
  ['acme/base', base],
  ['acme/plain', { ...server, repository: 'acme/plain' }],
]);

describe('repository file', () => {
  it('changes what it may set; the server keeps the rest and its env names', () => {
    const result = applyRepositoryFile(
      server,
      'steps: [one, two]\nenv: { A: file, B: b }\ntimeout: 30m\nbase: acme/base\nbranches: [master]\n',
      rules,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.rule.steps, ['one', 'two']);
    assert.deepEqual(result.rule.env, { A: 'file', B: 'b', KEEP: 'k' });
    assert.equal(result.rule.timeoutMs, 30 * 60_000);
    assert.equal(result.rule.base, 'acme/base');
    assert.equal(result.rule.image, undefined, 'base replaces the server image');
    assert.equal(result.rule.network, 'none');
    assert.deepEqual(result.keys, ['steps', 'env', 'timeout', 'base', 'branches']);
  });

  it('an empty file changes nothing', () => {
    const result = applyRepositoryFile(server, '# nothing here\n', rules);
    assert.ok(result.ok);
    assert.deepEqual(result.rule, server);
  });

  it('lists every problem with its key path', () => {
    const result = applyRepositoryFile(
      server,
      [
        'image: x',
        'base: acme/plain',
        'network: host',
        'cap_add: [SYS_ADMIN]',
        'commit: evil/image:latest',
        'repository_config: true',
        'secrets: {}',
        'colour: blue',
        'steps: [""]',
        'env: { "1BAD": x }',
        'timeout: 2h',
        'artifact: /etc/shadow',
      ].join('\n'),
      rules,
    );
    assert.ok(!result.ok);
    const byPath = new Map(result.problems.map((p) => [p.path, p.message]));
    for (const key of ['network', 'cap_add', 'commit', 'repository_config', 'secrets'])
      assert.match(byPath.get(key) ?? '', /set by the server's rule only/, key);
    assert.match(byPath.get('colour') ?? '', /unknown key/);
    assert.ok(byPath.has('steps.0'), [...byPath.keys()].join(' '));
    assert.ok(byPath.has('env.1BAD'), [...byPath.keys()].join(' '));
    assert.match(byPath.get('timeout') ?? '', /at most the server's 1h/);
    assert.match(byPath.get('artifact') ?? '', /under \/target/);
    assert.match(
      result.problems
        .filter((p) => p.path === 'base')
        .map((p) => p.message)
        .join(' | '),
      /at most one of "image".*\| acme\/plain is not a full build that commits an image/,
    );
  });

  it('refuses what is not a mapping, and YAML that does not parse', () => {
    const list = applyRepositoryFile(server, '- a\n- b\n', rules);
    assert.ok(!list.ok && /mapping/.test(list.problems[0]!.message));
    const bad = applyRepositoryFile(server, 'steps: [a\n', rules);
    assert.ok(!bad.ok && /not valid YAML/.test(bad.problems[0]!.message));
  });
});

describe('ref filters', () => {
  it('matches globs, excludes with !, and keeps / as a separator', () => {
    const patterns = ['master', 'release/*', '!release/old*'];
    assert.equal(matchesPatterns('master', patterns), true);
    assert.equal(matchesPatterns('release/1.0', patterns), true);
    assert.equal(matchesPatterns('release/old-2', patterns), false);
    assert.equal(matchesPatterns('release/a/b', patterns), false);
    assert.equal(matchesPatterns('feature', patterns), false);
    assert.equal(matchesPatterns('anything', ['!wip*']), true, 'only exclusions: the rest passes');
    assert.equal(matchesPatterns('wip-1', ['!wip*']), false);
    assert.equal(matchesPatterns('x', []), false);
  });

  it('applies each filter to its own ref type, and says why a ref is left out', () => {
    assert.equal(refFilteredOut({ branches: ['master'] }, 'tag', 'v1'), null);
    assert.equal(refFilteredOut({ tags: ['v*'] }, 'tag', 'v1.2'), null);
    assert.equal(
      refFilteredOut({ tags: ['v*'] }, 'tag', 'nightly', 'repositories.acme/os'),
      'tag nightly does not match tags of repositories.acme/os (v*)',
    );
    assert.equal(refFilteredOut({ tags: [] }, 'tag', 'v1'), 'tag v1 does not match tags of the rule ([])');
  });
});
