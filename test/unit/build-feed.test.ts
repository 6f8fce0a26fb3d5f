/**
 * The build feed (live/build-feed.ts) summarises and serialises a change only when a listener
 * reads its frame, once however many read it: pushes arriving with no monitor open pay nothing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BuildFeed, type BuildFrame } from '../../src/live/build-feed.js';
import { EventBus } from '../../src/live/event-bus.js';
import { makeBuild } from '../helpers/build-fixture.js';

it('summarises a change only when its frame is read, and once for every reader', () => {
  const bus = new EventBus();
  let summaries = 0;
  const feed = new BuildFeed(bus, (build) => {
    summaries += 1;
    return { id: build.id, state: build.state };
  });
  const frames: BuildFrame[] = [];
  feed.on((frame) => frames.push(frame)); // a listener that sends nothing (no stream open)
  bus.publishBuild(makeBuild({ id: 7, state: 'queued' }));
  assert.equal(summaries, 0);

  const sent: string[] = [];
  feed.on((frame) => sent.push(frame.frame.toString(), frame.frameWithoutId.toString()));
  feed.on((frame) => sent.push(frame.frame.toString()));
  bus.publishBuild(makeBuild({ id: 8, state: 'running' }));
  assert.equal(summaries, 1);
  assert.deepEqual(sent, [
    'event: build\nid: 2\ndata: {"id":8,"state":"running"}\n\n',
    'event: build\ndata: {"id":8,"state":"running"}\n\n',
    'event: build\nid: 2\ndata: {"id":8,"state":"running"}\n\n',
  ]);
  assert.equal(frames[1]!.data, '{"id":8,"state":"running"}');
  feed.close();
});
