/**
 * Floods over real HTTP on loopback with a real SQLite file: the queue limits (per repository:
 * oldest superseded; in all: 503 QUEUE_FULL with Retry-After, nothing stored) and the keyset
 * paging of /build/status and /build/history.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { planQueue } from '../../src/scheduler/plan-queue.js';
import { enqueuePush, removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const SECRET = 'bounds-secret';
const RULE = fakeRule(['echo hi']);
const sha = (n: number) => n.toString(16).padStart(40, '0');

interface BuildAnswer {
  id: number;
  state: string;
  reason: string | null;
  branch: string;
}

describe('queue limits over HTTP', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      repositories: { 'acme/os': RULE, 'acme/two': RULE },
      executor: new FakeExecutor(),
      token: SECRET,
      extra: { max_queued_per_repository: 3, max_queued: 5 },
    });
    // Builds stay queued: the queue is what is under test.
    h.service.scheduler.pause();
    await h.listen();
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  // Not postPush(): the answer is checked by each case (202, or 503 past the bound).
  const push = (repository: string, branch: string, delivery: string, n: number) => {
    const body = JSON.stringify(pushPayload({ repository, branch, commit: sha(n) }));
    return fetch(`${h.url}/build/initramfs/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, delivery }),
    });
  };

  it('supersedes the oldest queued build of a repository past max_queued_per_repository', async () => {
    const answers: BuildAnswer[] = [];
    for (let i = 1; i <= 4; i += 1) {
      const response = await push('acme/os', `feature-${i}`, `os-${i}`, i);
      assert.equal(response.status, 202);
      answers.push((await response.json()) as BuildAnswer);
    }
    const oldest = (await (await fetch(`${h.url}/api/builds/${answers[0]!.id}`)).json()) as BuildAnswer;
    assert.equal(oldest.state, 'superseded');
    assert.equal(oldest.reason, `queue limit (3) for acme/os reached; superseded by #${answers[3]!.id}`);
    const status = (await (await fetch(`${h.url}/build/status`)).json()) as {
      queued: BuildAnswer[];
      counts: { queued: number };
    };
    assert.deepEqual(
      status.queued.map((b) => b.branch),
      ['feature-2', 'feature-3', 'feature-4'],
    );
    assert.equal(status.counts.queued, 3);
  });

  it('refuses a push past max_queued with 503, Retry-After and QUEUE_FULL, and stores nothing', async () => {
    for (let i = 1; i <= 2; i += 1)
      assert.equal((await push('acme/two', `t-${i}`, `two-${i}`, 10 + i)).status, 202);
    const refused = await push('acme/two', 't-3', 'two-3', 13);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '120');
    const body = (await refused.json()) as { error: string; message: string };
    assert.equal(body.error, 'QUEUE_FULL');
    assert.match(body.message, /queue is full \(5 queued builds\)/);
    assert.equal((await h.service.store.countByState()).queued, 5);
    // Listed as refused (GET /api/deliveries), with no build: a redelivery is looked at again.
    assert.equal((await h.service.store.findDelivery('two-3'))?.outcome, 'refused');
    assert.equal(await h.service.store.latestForRef('acme/two', 'branch', 't-3'), null);

    // A new commit on a ref already queued replaces that build: accepted even when full.
    assert.equal((await push('acme/two', 't-1', 'two-1b', 14)).status, 202);
    // Room again (a build cancelled): GitHub's redelivery of the refused push is accepted.
    const first = await h.service.store.latestForRef('acme/two', 'branch', 't-2');
    await h.service.scheduler.cancel(first!.id);
    const redelivered = await push('acme/two', 't-3', 'two-3', 13);
    assert.equal(redelivered.status, 202);
    assert.equal(((await redelivered.json()) as BuildAnswer).branch, 't-3');
  });
});

describe('paging /build/status and /build/history', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      repositories: { 'acme/os': RULE },
      executor: new FakeExecutor(),
      extra: { max_queued_per_repository: 10_000, max_queued: 10_000 },
    });
    h.service.scheduler.pause();
    await h.listen();
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  /** Follows `next` from `first`, adding a build after each page; returns the ids seen in order. */
  async function walk(first: string, key: 'queued' | 'builds', addBuild: () => Promise<unknown>) {
    const seen: number[] = [];
    let url: string | null = `${h.url}${first}`;
    for (let pages = 0; url && pages < 100; pages += 1) {
      const response: Response = await fetch(url);
      assert.equal(response.status, 200);
      const page = (await response.json()) as Record<typeof key, { id: number }[]> & { next: string | null };
      assert.ok(page[key].length <= 25);
      if (page.next) assert.equal(response.headers.get('link'), `<${page.next}>; rel="next"`);
      seen.push(...page[key].map((b) => b.id));
      await addBuild();
      // `next` carries the public URL; the test server listens on another port.
      url = page.next ? `${h.url}${new URL(page.next).pathname}${new URL(page.next).search}` : null;
    }
    return seen;
  }

  it('walks 120 queued builds with the cursor: each once, oldest first, while pushes arrive', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 120; i += 1) ids.push((await enqueuePush(h, 'acme/os', `q-${i}`, sha(i))).id);
    const added: number[] = [];
    const seen = await walk('/build/status?limit=25', 'queued', async () => {
      added.push((await enqueuePush(h, 'acme/os', `late-${added.length}`, sha(1000 + added.length))).id);
    });
    assert.deepEqual(seen.slice(0, 120), ids, 'every build once, in order, none skipped');
    assert.equal(new Set(seen).size, seen.length, 'no build twice');
    assert.ok(
      seen.slice(120).every((id) => added.includes(id)),
      'later pages only add newer builds',
    );
    const firstPage = (await (await fetch(`${h.url}/build/status`)).json()) as {
      queued: unknown[];
      counts: { queued: number };
    };
    assert.equal(firstPage.queued.length, 100, 'a bounded default page');
    assert.equal(firstPage.counts.queued, 120 + added.length);
  });

  it('walks finished builds newest first with the cursor while builds finish', async () => {
    const { store } = h.service;
    const finish = async (branch: string) => {
      const build = await enqueuePush(h, 'acme/os', branch, sha(5000));
      await store.transition(build.id, ['queued'], 'success');
      return build.id;
    };
    const ids: number[] = [];
    for (let i = 0; i < 120; i += 1) ids.push(await finish(`done-${i}`));
    const newest = (await store.listHistory({ limit: 1 })).builds[0]!.id;
    const seen = await walk(`/build/history?limit=25&cursor=${newest + 1}`, 'builds', () =>
      finish(`done-late-${Math.random()}`),
    );
    assert.equal(new Set(seen).size, seen.length, 'no build twice');
    assert.deepEqual(
      seen.filter((id) => ids.includes(id)),
      [...ids].reverse(),
      'every finished build once, newest first',
    );
    assert.ok(
      seen.every((id) => id <= newest),
      'builds finishing during the walk do not shift pages',
    );
  });

  it('refuses bad paging parameters from the error table', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=x', 'cursor=-1', 'cursor=abc']) {
      const response = await fetch(`${h.url}/build/status?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as { error: string }).error, 'BAD_REQUEST');
    }
  });
});

describe('queue limits and base builds', () => {
  it('a component build waiting for its base build is not the one a flood supersedes', async () => {
    const h = await startHarness({
      repositories: {
        'acme/full': { ...RULE, commit: 'acme/full:{branch}' },
        'acme/inc': { base: 'acme/full', checkout: '/inc', steps: ['true'], network: 'none' },
      },
      executor: new FakeExecutor(),
      extra: { max_queued_per_repository: 2 },
    });
    try {
      h.service.scheduler.pause();
      await enqueuePush(h, 'acme/full', 'w', sha(1));
      const waiting = await enqueuePush(h, 'acme/inc', 'w', sha(2));
      const free = await enqueuePush(h, 'acme/inc', 'x', sha(3));
      await enqueuePush(h, 'acme/inc', 'y', sha(4));
      const { store } = h.service;
      assert.equal((await store.getBuild(free.id))!.state, 'superseded');
      assert.equal((await store.getBuild(waiting.id))!.state, 'queued');
      // Its base build superseded by the base repository's own limit: it waits for nothing more.
      const base = (await store.latestForRef('acme/full', 'branch', 'w'))!;
      await enqueuePush(h, 'acme/full', 'a', sha(5));
      await enqueuePush(h, 'acme/full', 'b', sha(6));
      assert.equal((await store.getBuild(base.id))!.state, 'superseded');
      const queued = (await store.listActive()).filter((b) => b.state === 'queued');
      const plan = planQueue(queued, [], 4, h.config.rules);
      assert.ok(
        plan.start.some((b) => b.id === waiting.id),
        'starts from the newest base image there is',
      );
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
