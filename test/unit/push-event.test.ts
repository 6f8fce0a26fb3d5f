import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePush, PayloadError } from '../../src/forge/github/push-event.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

describe('parsePush', () => {
  it('reads GitHub’s documented branch push', () => {
    const outcome = parsePush(fixture('push-branch.json'));
    assert.equal(outcome.kind, 'push');
    if (outcome.kind !== 'push') return;
    assert.deepEqual(
      { ...outcome.event, commits: outcome.event.commits.length },
      {
        repository: 'Codertocat/Hello-World',
        refType: 'branch',
        branch: 'master',
        commit: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
        before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        pusher: 'Codertocat',
        commits: 1,
      },
    );
    assert.deepEqual(outcome.event.commits[0], {
      sha: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
      message: 'Update README.md',
      author: 'Codertocat',
      url: 'https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
    });
  });
  it('ignores GitHub’s documented deleted-tag push (head_commit null)', () => {
    assert.deepEqual(parsePush(fixture('push-tag-deleted.json')), { kind: 'ignored', reason: 'ref deleted' });
  });
  it('reads tags', () => {
    const payload = { ...fixture('push-branch.json'), ref: 'refs/tags/v1.0' };
    const outcome = parsePush(payload);
    assert.ok(outcome.kind === 'push' && outcome.event.refType === 'tag' && outcome.event.branch === 'v1.0');
  });
  const broken: [string, unknown][] = [
    ['not an object', 'hello'],
    ['no ref', { ...fixture('push-branch.json'), ref: undefined }],
    ['ref of another kind', { ...fixture('push-branch.json'), ref: 'refs/pull/1/head' }],
    ['ref with ..', { ...fixture('push-branch.json'), ref: 'refs/heads/../../x' }],
    ['ref with a newline', { ...fixture('push-branch.json'), ref: 'refs/heads/a\nb' }],
    ['short sha', { ...fixture('push-branch.json'), after: 'abc' }],
    ['sha with shell', { ...fixture('push-branch.json'), after: '$(reboot)' }],
    ['repository traversal', { ...fixture('push-branch.json'), repository: { full_name: '../etc' } }],
    ['repository of wrong type', { ...fixture('push-branch.json'), repository: { full_name: 42 } }],
    ['commits of wrong type', { ...fixture('push-branch.json'), commits: 'many' }],
  ];
  for (const [name, payload] of broken) {
    it(`refuses ${name} with a reason`, () => {
      assert.throws(
        () => parsePush(payload),
        (error: unknown) => error instanceof PayloadError && error.message.length > 0,
      );
    });
  }
});
