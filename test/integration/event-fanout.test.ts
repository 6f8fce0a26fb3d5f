/**
 * /api/events under many watchers, over real loopback HTTP against a real service (fake executor,
 * local git repository, SQLite): a 2000-commit push fanned out to 300 watchers leaves /healthz
 * answering, the watcher caps answer 503 from the error table, a watcher that never reads is
 * dropped while the others keep receiving. See docs/reliability.md, "Watchers and streams".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Build } from '../../src/domain/build.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal, type Harness } from '../helpers/harness.js';
import { stalledWatcher, watch, watchInWorker, type Watch } from '../helpers/sse-watch.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const REPOSITORY = 'owner/name';
const RULE = fakeRule(['echo building', 'echo kernel > /target/vmlinuz.efi']);

describe('fan-out of a large push to 300 watchers', () => {
  let harness: Harness;

  before(async () => {
    harness = await startHarness({
      executor: new FakeExecutor(),
      repositories: { [REPOSITORY]: RULE },
      extra: { streams: { max_watchers: 400, max_watchers_per_address: 350 } },
    });
    await harness.listen();
  });

  after(async () => {
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('keeps /healthz under 250 ms while every watcher receives the build, without its commits', async () => {
    const repo = new LocalRepo(harness.gitRoot, REPOSITORY);
    // A first, small push: what runs once per process (compiling, the git mirror) is not measured.
    const warmup = JSON.stringify(
      pushPayload({
        repository: REPOSITORY,
        branch: 'master',
        commit: repo.commit('master', { 'file.txt': 'warm' }),
      }),
    );
    const warm = await fetch(`${harness.url}/build/test/hook`, {
      method: 'POST',
      headers: webhookHeaders(warmup),
      body: warmup,
    });
    await waitForFinal(harness, ((await warm.json()) as { id: number }).id);
    const sha = repo.commit('master', { 'file.txt': 'big push' }, 'the head of a big push');
    const payload = pushPayload({ repository: REPOSITORY, branch: 'master', commit: sha });
    payload.commits = Array.from({ length: 2000 }, (_, i) => ({
      id: i.toString(16).padStart(40, '0'),
      message: `commit ${i}: ${'a realistic commit message that explains a change. '.repeat(4)}`,
      url: `https://github.com/${REPOSITORY}/commit/${i.toString(16).padStart(40, '0')}`,
      author: { name: `Author ${i}`, username: `author${i}` },
    }));
    const body = JSON.stringify(payload);

    // The scheduler is paused while /healthz is timed: what is measured is the fan-out of the push's
    // event (with the old code, 300 serialisations of 2000 commits), not the build's git and store
    // work, whose time on this shared machine has nothing to do with the number of watchers.
    harness.service.scheduler.pause();
    const queued = watchInWorker(`${harness.url}/api/events`, 300, [`"commit":"${sha}"`]);
    const finished = watchInWorker(`${harness.url}/api/events`, 10, [
      `"commit":"${sha}"`,
      '"state":"success"',
    ]);
    const inspector = await watch(harness.url, '/api/events');
    try {
      await Promise.all([queued.connected, finished.connected]);
      const latencies: number[] = [];
      let fannedOut = false;
      const probe = (async () => {
        while (!fannedOut) {
          const started = performance.now();
          const health = await fetch(`${harness.url}/healthz`);
          await health.arrayBuffer();
          latencies.push(performance.now() - started);
        }
      })();
      // Not postPush(): over the socket, so the /healthz probe runs beside a real request (through
      // app.inject the push is over before the probe asks twice).
      const pushed = await fetch(`${harness.url}/build/test/hook`, {
        method: 'POST',
        headers: webhookHeaders(body),
        body,
      });
      assert.equal(pushed.status, 202, await pushed.clone().text());
      const { id } = (await pushed.json()) as { id: number };
      await queued.received.finally(() => (fannedOut = true));
      await probe;
      assert.ok(latencies.length >= 2, `/healthz was asked during the fan-out (${latencies.length} times)`);
      const worst = Math.max(...latencies);
      assert.ok(worst < 250, `/healthz took ${worst.toFixed(0)} ms during the fan-out`);

      // The build runs; its later events reach the watchers too.
      harness.service.scheduler.resume();
      assert.equal((await waitForFinal(harness, id)).state, 'success');
      await finished.received;

      // The event carries what the lists need, and a count instead of 2000 commits.
      const event = await waitFor(() =>
        inspector.text
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
          .find((data) => data.id === id),
      );
      assert.equal(event.commitCount, 2000);
      assert.equal('commits' in event, false, 'no commit list in the event');
      assert.equal(event.commit, sha);
      assert.equal(
        (event.links as { monitor: string }).monitor,
        `${harness.config.publicUrl}/monitor/builds/${id}`,
      );
      const full = (await (await fetch(`${harness.url}/api/builds/${id}`)).json()) as Build;
      assert.equal(full.commits.length, 2000, 'the JSON API still has them');
    } finally {
      inspector.close();
      await queued.close();
      await finished.close();
    }
  });
});

describe('watcher caps and slow watchers', () => {
  let harness: Harness;
  const open: Watch[] = [];
  const openedBy = async (path: string, localAddress?: string) => {
    const w = await watch(harness.url, path, localAddress);
    open.push(w);
    return w;
  };
  const closeAll = async () => {
    for (const w of open.splice(0)) w.close();
    await waitFor(() => harness.service.metrics.streamWatchers.get().then((g) => g.values[0]?.value === 0));
  };

  before(async () => {
    harness = await startHarness({
      executor: new FakeExecutor(),
      repositories: { [REPOSITORY]: RULE },
      extra: { streams: { max_watchers: 6, max_watchers_per_address: 4, max_unread: '64k' } },
    });
    await harness.listen();
  });

  after(async () => {
    for (const w of open) w.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('answers 503 with Retry-After and the error JSON past the per-address and the total cap', async () => {
    const bad = await openedBy('/api/events?tails=yes');
    await bad.closed;
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.text) as { error: string }).error, 'BAD_REQUEST');
    for (let i = 0; i < 4; i++) assert.equal((await openedBy('/api/events')).status, 200);
    const perAddress = await openedBy('/api/events');
    await perAddress.closed;
    assert.equal(perAddress.status, 503);
    assert.equal(perAddress.headers['retry-after'], '10');
    assert.match(perAddress.headers['content-type'] ?? '', /^application\/json/);
    const refused = JSON.parse(perAddress.text) as { error: string; message: string };
    assert.equal(refused.error, 'TOO_MANY_WATCHERS');
    assert.match(refused.message, /max_watchers_per_address/);
    // Log streams count too.
    assert.equal((await openedBy('/api/builds/1/log/stream')).status, 503);

    // Another address (127.0.0.2 is loopback too) still may, until the total is reached.
    assert.equal((await openedBy('/api/events', '127.0.0.2')).status, 200);
    assert.equal((await openedBy('/api/events', '127.0.0.2')).status, 200);
    const total = await openedBy('/api/events', '127.0.0.2');
    await total.closed;
    assert.equal(total.status, 503);
    assert.match((JSON.parse(total.text) as { message: string }).message, /streams\.max_watchers\)/);

    // A closed stream frees its place.
    await closeAll();
    assert.equal((await openedBy('/api/events')).status, 200);
    await closeAll();
  });

  it('drops a watcher that does not read while the others receive every event', async () => {
    const readers = [
      await openedBy('/api/events'),
      await openedBy('/api/events'),
      await openedBy('/api/events'),
    ];
    assert.deepEqual(
      readers.map((r) => r.status),
      [200, 200, 200],
    );
    const stalled = await stalledWatcher(harness.url, '/api/events');
    await waitFor(() => harness.service.metrics.streamWatchers.get().then((g) => g.values[0]?.value === 4));
    const dropped = async () => (await harness.service.metrics.streamsDropped.get()).values[0]?.value ?? 0;
    assert.equal(await dropped(), 0);

    // Build events with a 4 KB reason, in batches of 16 KB the readers keep up with (a burst
    // over max_unread would drop a reader whose socket has not had a turn yet): only the stalled
    // client's queue grows, past max_unread (64 KB) once the kernel's socket buffers are full.
    const { store, bus } = harness.service;
    // Paused: the scheduler looks at the queue every second (replicas), and would run this build,
    // adding its own build events to the ones counted here.
    await harness.service.scheduler.pause();
    const { build } = await store.createBuild({
      ...{ project: 'test', repository: REPOSITORY, refType: 'branch', branch: 'slow', kind: 'full' },
      ...{ commit: 'c'.repeat(40), pusher: null, deliveryId: null, commits: [] },
    });
    const noisy = { ...build, reason: 'x'.repeat(4096) };
    let published = 0;
    while ((await dropped()) === 0) {
      assert.ok(published < 20_000, 'the stalled watcher was never dropped');
      for (let i = 0; i < 4; i++) bus.publishBuild(noisy);
      published += 4;
      await waitFor(() => readers.every((r) => r.count('build') === published), 10_000);
    }
    await waitFor(() => harness.service.metrics.streamWatchers.get().then((g) => g.values[0]?.value === 3));
    for (let i = 0; i < 4; i++) bus.publishBuild(noisy);
    published += 4;
    await waitFor(() => readers.every((r) => r.count('build') === published), 10_000);
    stalled.destroy();
    await closeAll();
  });
});
