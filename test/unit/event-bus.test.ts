/** The event bus: a failing listener stays with that listener. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EventBus } from '../../src/live/event-bus.js';
import { makeBuild } from '../helpers/build-fixture.js';

it('a listener that throws neither fails the publisher nor keeps the others from hearing', () => {
  const errors: unknown[] = [];
  const bus = new EventBus((error) => errors.push(error));
  const heard: number[] = [];
  bus.onBuild(() => {
    throw new Error('EMFILE: too many open files');
  });
  bus.onBuild(({ build }) => heard.push(build.id));
  bus.onLog(7, () => {
    throw new Error('log listener failed');
  });
  assert.doesNotThrow(() => bus.publishBuild(makeBuild({ id: 7 })));
  assert.doesNotThrow(() => bus.publishLog({ buildId: 7, offset: 0, text: 'x\n' }));
  assert.deepEqual(heard, [7]);
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ['EMFILE: too many open files', 'log listener failed'],
  );
});
