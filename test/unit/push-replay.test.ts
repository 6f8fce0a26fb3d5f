import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answeringBuild, replayPossible, type PushHistory } from '../../src/domain/push-replay.js';

const [A, B, C, Z] = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), '0'.repeat(40)];

describe('answeringBuild (replay or new push)', () => {
  const cases: [string, { commit: string; before: string | null }, PushHistory, number | null][] = [
    [
      'a first push builds',
      { commit: A, before: Z },
      { sameBody: null, sameCommit: null, latest: null },
      null,
    ],
    [
      'a new commit builds',
      { commit: B, before: A },
      { sameBody: null, sameCommit: null, latest: { id: 1, commit: A } },
      null,
    ],
    [
      'the same body answers its build',
      { commit: B, before: A },
      { sameBody: 2, sameCommit: 2, latest: { id: 3, commit: A } },
      2,
    ],
    [
      'an unseen old body of a commit the ref built answers',
      { commit: A, before: C },
      { sameBody: null, sameCommit: 1, latest: { id: 2, commit: B } },
      1,
    ],
    [
      'the latest commit again answers',
      { commit: B, before: A },
      { sameBody: null, sameCommit: 2, latest: { id: 2, commit: B } },
      2,
    ],
    [
      'a force-push back from the latest builds',
      { commit: A, before: B },
      { sameBody: null, sameCommit: 1, latest: { id: 2, commit: B } },
      null,
    ],
    [
      'a ref made again at an old commit builds (deletions make no build)',
      { commit: A, before: Z },
      { sameBody: null, sameCommit: 1, latest: { id: 2, commit: B } },
      null,
    ],
    [
      'no `before` never moves the ref',
      { commit: A, before: null },
      { sameBody: null, sameCommit: 1, latest: { id: 2, commit: B } },
      1,
    ],
  ];
  for (const [name, push, history, expected] of cases) {
    it(name, () => assert.equal(answeringBuild({ ...push, bodySha256: 'x' }, history), expected));
  }
});

describe('replayPossible (whether the store must look for the ref’s builds of the commit)', () => {
  const latest = { id: 7, commit: 'b'.repeat(40) };
  it('an ordinary push moves the ref on from its latest build: no', () =>
    assert.equal(replayPossible({ commit: 'c'.repeat(40), before: latest.commit }, latest), false));
  it('a push creating the ref: no', () =>
    assert.equal(replayPossible({ commit: 'c'.repeat(40), before: '0'.repeat(40) }, latest), false));
  it('a push whose before is not where the ref is: yes', () =>
    assert.equal(replayPossible({ commit: 'c'.repeat(40), before: 'd'.repeat(40) }, latest), true));
  it('a push of the latest build’s own commit: yes', () =>
    assert.equal(replayPossible({ commit: latest.commit, before: latest.commit }, latest), true));
});
