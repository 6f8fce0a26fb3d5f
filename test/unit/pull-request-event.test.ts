/** The `pull_request` payload parser on GitHub's documented shapes (test/fixtures/pull-request-*.json). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePullRequest } from '../../src/forge/github/pull-request-event.js';
import { PayloadError } from '../../src/forge/github/push-event.js';
import { buildEnv, containerEnv, receivesSecrets } from '../../src/pipeline/build-env.js';
import type { BuildRule } from '../../src/domain/rule.js';
import { makeBuild } from '../helpers/build-fixture.js';
import { publishNames, pullPublishProblem } from '../../src/domain/publish-names.js';
import { templateValues } from '../../src/domain/template.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

describe('pull_request payloads', () => {
  it('reads the head commit, base branch, author and title of an opened PR', () => {
    const outcome = parsePullRequest(fixture('pull-request-opened.json'));
    assert.equal(outcome.kind, 'build');
    assert.deepEqual(outcome.kind === 'build' && outcome.event, {
      repository: 'Codertocat/Hello-World',
      number: 2,
      title: 'Update the README with new information.',
      headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      headRef: 'changes',
      headRepository: 'Codertocat/Hello-World',
      baseBranch: 'master',
      fork: false,
      author: 'Codertocat',
      sender: 'Codertocat',
    });
  });

  it('tells a fork by its head repository, and a deleted fork too', () => {
    const fork = parsePullRequest(fixture('pull-request-fork-opened.json'));
    assert.ok(fork.kind === 'build' && fork.event.fork);
    const payload = fixture('pull-request-fork-opened.json') as { pull_request: { head: { repo: unknown } } };
    payload.pull_request.head.repo = null;
    const deleted = parsePullRequest(payload);
    assert.ok(
      deleted.kind === 'build' && deleted.event.fork && deleted.event.headRepository === '(deleted fork)',
    );
    const sameButCase = fixture('pull-request-opened.json') as {
      pull_request: { head: { repo: { full_name: string } } };
    };
    sameButCase.pull_request.head.repo.full_name = 'codertocat/hello-world';
    const same = parsePullRequest(sameButCase);
    assert.ok(same.kind === 'build' && !same.event.fork, 'GitHub names ignore case');
  });

  it('closes on closed, ignores other actions, refuses a malformed payload with the field named', () => {
    assert.deepEqual(parsePullRequest(fixture('pull-request-closed.json')), {
      kind: 'closed',
      repository: 'Codertocat/Hello-World',
      number: 2,
    });
    const labeled = { ...fixture('pull-request-opened.json'), action: 'labeled' };
    assert.equal(parsePullRequest(labeled).kind, 'ignored');
    const bad = fixture('pull-request-opened.json') as { pull_request: { head: { sha: string } } };
    bad.pull_request.head.sha = 'not-a-sha';
    assert.throws(
      () => parsePullRequest(bad),
      (e: Error) => e instanceof PayloadError && /head\.sha/.test(e.message),
    );
  });

  it('refuses a PR number the store cannot hold (PostgreSQL integer), takes the largest it can', () => {
    const withNumber = (number: number) => {
      const payload = fixture('pull-request-opened.json') as {
        number: number;
        pull_request: { number: number };
      };
      payload.number = number;
      payload.pull_request.number = number;
      return payload;
    };
    const largest = parsePullRequest(withNumber(2_147_483_647));
    assert.ok(largest.kind === 'build' && largest.event.number === 2_147_483_647);
    for (const number of [2_147_483_648, 9_999_999_999, 0, -1, 1.5])
      assert.throws(
        () => parsePullRequest(withNumber(number)),
        (e: Error) => e instanceof PayloadError && /^number/.test(e.message),
        String(number),
      );
  });

  it('gives secrets to pushes and same-repository PRs only; publishes a PR without a link', () => {
    const pull = {
      number: 3,
      title: '',
      baseBranch: 'master',
      headRepository: 'x/y',
      author: 'x',
      approval: 'approved' as const,
    };
    assert.equal(receivesSecrets({ refType: 'branch', pull: null }), true);
    assert.equal(receivesSecrets({ refType: 'pull', pull: { ...pull, fork: false } }), true);
    assert.equal(receivesSecrets({ refType: 'pull', pull: { ...pull, fork: true } }), false);
    const rule = { publish: 'zos-{branch}-{short}.efi', link: 'zos-{branch}.efi' };
    const values = templateValues('a/b', 'pull', 'pr-3', 'abcdef0123456789');
    assert.deepEqual(publishNames(rule, { refType: 'pull' }, values), {
      kernel: 'zos-pr-3-abcdef01.efi',
      release: false,
    });
    assert.match(pullPublishProblem({ publish: 'zos-latest.efi' }) ?? '', /has no \{branch\}/);
    assert.equal(pullPublishProblem(rule), null);
  });

  it("keeps secrets out of the container's own environment, and empties them for a fork", () => {
    const base = { repository: 'acme/base', checkout: '/base', secrets: { BASE_KEY: 'b-secret' } };
    const rule = {
      repository: 'acme/os',
      checkout: '/src',
      base: 'acme/base',
      env: { PLAIN: '1' },
      secrets: { API_KEY: 'a-secret' },
    } as unknown as BuildRule;
    const rules = {
      get: (name: string) => (name === 'acme/base' ? (base as unknown as BuildRule) : undefined),
      has: (name: string) => name === 'acme/base',
    };
    const push = buildEnv(makeBuild(), rule, rules);
    assert.equal(push.API_KEY, 'a-secret', 'the steps of a push get the secret');
    const created = containerEnv(push, rule);
    assert.equal(created.PLAIN, '1');
    assert.ok(!('API_KEY' in created), 'docker commit would keep it in the image');
    const pull = {
      number: 4,
      title: 't',
      baseBranch: 'master',
      headRepository: 'x/os',
      fork: true,
      author: 'x',
      approval: 'approved' as const,
    };
    const fork = buildEnv(makeBuild({ refType: 'pull', branch: 'pr-4', pull }), rule, rules);
    // An image committed before carries them: the fork's environment replaces them with nothing.
    assert.equal(fork.API_KEY, '');
    assert.equal(fork.BASE_KEY, '');
    assert.ok(!Object.values(fork).some((v) => v.includes('secret')), JSON.stringify(fork));
  });
});
