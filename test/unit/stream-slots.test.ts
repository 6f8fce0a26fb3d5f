/**
 * A log-stream client that leaves while the route still waits for the database must not keep its
 * place under the watcher caps: repeated during a slow database, that locked every monitor out.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { enqueuePush, removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

describe('watcher places', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        'acme/x': fakeRule(['true']),
      },
      extra: { streams: { max_watchers_per_address: 2 } },
    });
    url = await h.listen();
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  it('are given back when the client left while the route waited for the store', async () => {
    h.service.scheduler.pause();
    const build = await enqueuePush(h, 'acme/x', 'master', 'a'.repeat(40));
    // The store answers only when released, like a database that is slow for a while.
    const store = h.service.store;
    const getBuild = store.getBuild.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let waiting = 0;
    store.getBuild = async (id) => {
      waiting += 1;
      await gate;
      return getBuild(id);
    };
    const port = Number(new URL(url).port);
    for (let i = 0; i < 4; i += 1) {
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /api/builds/${build.id}/log/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await waitFor(() => waiting === i + 1);
      socket.destroy(); // the client gives up while the store does not answer
    }
    release();
    store.getBuild = getBuild;
    const events = await waitFor(async () => {
      const response = await fetch(`${url}/api/events`);
      if (response.status === 200) return response;
      await response.body?.cancel();
      return undefined;
    });
    assert.equal(events.status, 200, 'the two places of this address are free again');
    await events.body?.cancel();
    h.service.scheduler.resume();
  });
});
