import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Build } from '../../src/domain/build.js';
import { planQueue } from '../../src/scheduler/plan-queue.js';
import { makeBuild, makeRule } from '../helpers/build-fixture.js';

let nextId = 1;
function build(
  repository: string,
  branch: string,
  state: Build['state'] = 'queued',
  kind: Build['kind'] = 'full',
): Build {
  return makeBuild({ id: nextId++, repository, branch, state, kind });
}
const rule = (repository: string, base?: string) =>
  makeRule({ repository, base, image: base ? undefined : 'x', repositoryConfig: false });
const rules = new Map([
  ['o/full', rule('o/full')],
  ['o/inc', rule('o/inc', 'o/full')],
  ['o/other', rule('o/other')],
]);

describe('planQueue', () => {
  it('respects the concurrency limit, oldest first', () => {
    const a = build('o/full', 'a'),
      b = build('o/full', 'b'),
      c = build('o/other', 'a');
    const plan = planQueue([a, b, c], [], 2, rules);
    assert.deepEqual(
      plan.start.map((x) => x.id),
      [a.id, b.id],
    );
    assert.match(plan.waiting.get(c.id)!, /concurrency limit/);
  });
  it('never runs two builds of the same repository and branch', () => {
    const running = build('o/full', 'master', 'running');
    const queued = build('o/full', 'master');
    const plan = planQueue([queued], [running], 4, rules);
    assert.equal(plan.start.length, 0);
    assert.equal(plan.waiting.get(queued.id), `same branch busy (#${running.id})`);
  });
  it('holds an incremental build while its base builds the same branch', () => {
    const full = build('o/full', 'master', 'running');
    const inc = build('o/inc', 'master', 'queued', 'incremental');
    const incOther = build('o/inc', 'dev', 'queued', 'incremental');
    const plan = planQueue([inc, incOther], [full], 4, rules);
    assert.equal(plan.waiting.get(inc.id), `waiting for base build #${full.id}`);
    assert.deepEqual(
      plan.start.map((x) => x.id),
      [incOther.id],
    );
  });
  it('holds an incremental build while a full build of its base is queued, even behind it', () => {
    const inc = build('o/inc', 'master', 'queued', 'incremental');
    const full = build('o/full', 'master');
    const plan = planQueue([inc, full], [], 4, rules);
    assert.deepEqual(
      plan.start.map((x) => x.id),
      [full.id],
    );
    assert.match(plan.waiting.get(inc.id)!, /waiting for base build/);
  });
});
