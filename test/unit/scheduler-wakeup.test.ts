/**
 * A push's build is claimed by the pass its enqueue starts, and a queued build by the pass the end
 * of the build before it starts: never by the periodic look at the shared queue (`replicas.poll`),
 * which is set to an hour here so that only those two wake-ups can start anything.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { fakeRule } from '../helpers/fake-rule.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  closeHarnesses,
  enqueuePush,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';

const harnesses: Harness[] = [];
after(() => closeHarnesses(harnesses));

describe('Scheduler wake-up', () => {
  it('starts a pushed build, and the one queued behind it, without the periodic look', async () => {
    const h = await startHarness({
      executor: new FakeExecutor(),
      repositories: { 'acme/wake': fakeRule(['echo hi', 'echo k > /target/vmlinuz.efi']) },
      extra: { replicas: { poll: '1h', renew: '1h', lease: '2h' } },
    });
    harnesses.push(h);
    const repo = new LocalRepo(h.gitRoot, 'acme/wake');
    const first = await enqueuePush(h, 'acme/wake', 'master', repo.commit('master', { a: '1' }));
    const second = await enqueuePush(h, 'acme/wake', 'dev', repo.commit('dev', { a: '2' }));
    // concurrency 1: the second waits for the first, then starts when it ends.
    for (const id of [first.id, second.id]) {
      const build = await waitForFinal(h, id, 15_000);
      assert.equal(build.state, 'success', `#${id}: ${build.reason}`);
    }
  });

  it('an idle service does not ping its engine; a push does', async () => {
    let pings = 0;
    const executor = new FakeExecutor();
    const ping = executor.ping.bind(executor);
    executor.ping = () => {
      pings += 1;
      return ping();
    };
    const h = await startHarness({
      executor,
      repositories: { 'acme/idle': fakeRule(['echo hi', 'echo k > /target/vmlinuz.efi']) },
      extra: { replicas: { poll: 20, renew: '1h', lease: '2h' } },
    });
    harnesses.push(h);
    // Scheduling passes with nothing queued: the periodic look (every 20 ms here) starts each.
    let passes = 0;
    const store = h.service.store;
    const countQueued = store.countQueued.bind(store);
    store.countQueued = () => {
      passes += 1;
      return countQueued();
    };
    await waitFor(() => passes >= 10);
    assert.equal(pings, 0);
    const repo = new LocalRepo(h.gitRoot, 'acme/idle');
    const pushed = await enqueuePush(h, 'acme/idle', 'master', repo.commit('master', { a: '1' }));
    assert.equal((await waitForFinal(h, pushed.id, 15_000)).state, 'success');
    assert.ok(pings > 0, 'the pushed build was started after a ping');
  });
});
