/** The Store contract: every Store implementation (SQLite and PostgreSQL) must pass it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NewBuild } from '../../src/domain/build.js';
import type { Store } from '../../src/store/store.js';
import { AppError } from '../../src/errors.js';

export function newBuild(overrides: Partial<NewBuild> = {}): NewBuild {
  return {
    project: 'test',
    repository: 'acme/os',
    refType: 'branch',
    branch: 'master',
    commit: 'a'.repeat(40),
    kind: 'full',
    pusher: 'someone',
    deliveryId: null,
    commits: [{ sha: 'a'.repeat(40), message: 'msg <b>', author: 'Ann', url: 'https://example.com/c' }],
    ...overrides,
  };
}

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    it('creates queued builds with increasing ids and reads them back whole', async () => {
      const { build: a, created } = await store.createBuild(newBuild({ branch: 'c1' }));
      const { build: b } = await store.createBuild(newBuild({ branch: 'c2', refType: 'tag' }));
      assert.equal(created, true);
      assert.ok(b.id > a.id);
      const read = await store.getBuild(a.id);
      assert.deepEqual(read, a);
      assert.equal(read!.state, 'queued');
      assert.equal(read!.commits[0]!.message, 'msg <b>');
      assert.equal((await store.getBuild(b.id))!.refType, 'tag');
      assert.equal(await store.getBuild(999_999), null);
    });

    it('stores a pull request build with its facts; one awaiting approval is not planned until approved', async () => {
      const pull = {
        number: 42,
        title: 'Fix <boot> «ü»',
        baseBranch: 'master',
        headRepository: 'stranger/os',
        fork: true,
        author: 'stranger',
        approval: 'awaiting' as const,
      };
      const { build } = await store.createBuild(
        newBuild({ refType: 'pull', branch: 'pr-42', deliveryId: 'd-pr-42', pull }),
      );
      assert.deepEqual(build.pull, pull);
      assert.deepEqual(await store.getBuild(build.id), build);
      assert.equal((await store.findDelivery('d-pr-42'))?.ref, 'refs/pull/42/head');
      assert.equal((await store.findDelivery('d-pr-42'))?.event, 'pull_request');
      assert.ok(!(await store.listQueuedRefs()).some((b) => b.id === build.id), 'awaiting: not planned');
      // Nor seen or claimed by a planning pass (leases), even when a planner asks for it.
      const unclaimed = await store.claimBuilds('replica-pr', 30_000, async (view) => {
        assert.ok(!view.queued.some((b) => b.id === build.id), 'awaiting: not in the planner view');
        return [{ id: build.id, patch: {} }];
      });
      assert.deepEqual(unclaimed, [], 'awaiting: not claimed');
      const approved = await store.approve(build.id);
      assert.equal(approved?.pull?.approval, 'approved');
      assert.ok(
        (await store.listQueuedRefs()).some((b) => b.id === build.id),
        'approved: planned',
      );
      assert.equal(await store.approve(build.id), null, 'approved already');
      const plain = (await store.createBuild(newBuild({ branch: 'not-a-pr' }))).build;
      assert.equal(plain.pull, null);
      assert.equal(await store.approve(plain.id), null, 'not a pull request');
      assert.equal(await store.approve(999_999), null, 'unknown');
      await store.transition(build.id, ['queued'], 'cancelled');
    });

    it('answers a repeated delivery with the build it created, atomically', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.createBuild(newBuild({ branch: 'dup', deliveryId: 'd-1' }))),
      );
      const ids = new Set(results.map((r) => r.build.id));
      assert.equal(ids.size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
      const delivery = await store.findDelivery('d-1');
      assert.equal(delivery?.outcome, 'build');
      assert.equal(delivery?.buildId, [...ids][0]);
    });

    it('records ignored deliveries, and turns one into a build when it builds later', async () => {
      const first = await store.recordIgnored('d-2', 'push', 'repository not configured');
      assert.equal(first.outcome, 'ignored');
      const again = await store.recordIgnored('d-2', 'push', 'ref deleted');
      assert.equal(again.reason, 'ref deleted');
      const { build, created } = await store.createBuild(newBuild({ branch: 'late', deliveryId: 'd-2' }));
      assert.equal(created, true);
      const delivery = await store.findDelivery('d-2');
      assert.equal(delivery?.outcome, 'build');
      assert.equal(delivery?.buildId, build.id);
      const ignoredAfter = await store.recordIgnored('d-2', 'push', 'late ignore');
      assert.equal(ignoredAfter.outcome, 'build', 'a delivery that built stays a build');
      assert.equal(await store.findDelivery('nope'), null);
    });

    it("supersedes a ref's queued build under any name of its repository (aliases), only with names", async () => {
      const names = ['acme/new', 'acme/old'];
      const old = (await store.createBuild(newBuild({ repository: 'acme/old', branch: 'renamed' }))).build;
      const apart = await store.createBuild(newBuild({ repository: 'acme/new', branch: 'renamed' }));
      assert.deepEqual(apart.superseded, [], 'without names, two repositories');
      const { build, superseded } = await store.createBuild(
        newBuild({ repository: 'acme/new', branch: 'renamed', commit: 'e'.repeat(40), names }),
      );
      assert.deepEqual(superseded.map((b) => b.id).sort(), [old.id, apart.build.id].sort());
      assert.equal(build.repository, 'acme/new');
      assert.equal(
        (await store.getBuild(old.id))!.repository,
        'acme/old',
        'recorded with the name it came with',
      );
    });

    it('lists deliveries newest first with what they were about, paged without gaps or repeats', async () => {
      await store.recordIgnored('ls-1', 'push', 'repository a/b is not configured', {
        repository: 'a/b',
        ref: 'refs/heads/master',
      });
      await store.recordIgnored('ls-2', 'ping', 'x');
      const { build } = await store.createBuild(
        newBuild({ branch: 'listed', refType: 'tag', deliveryId: 'ls-3' }),
      );
      await store.recordIgnored('ls-4', 'push', 'queue is full', {
        repository: 'acme/os',
        outcome: 'refused',
      });
      const seen: string[] = [];
      let before: string | undefined;
      for (let pages = 0; pages < 1000; pages += 1) {
        const page = await store.listDeliveries({ limit: 2, before });
        seen.push(...page.deliveries.map((d) => d.deliveryId));
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      assert.equal(new Set(seen).size, seen.length, 'no delivery twice');
      const ours = seen.filter((id) => id.startsWith('ls-'));
      assert.deepEqual(ours, ['ls-4', 'ls-3', 'ls-2', 'ls-1']);
      const [refused, built] = (await store.listDeliveries({ limit: 2 })).deliveries;
      assert.deepEqual(
        { outcome: refused?.outcome, reason: refused?.reason, repository: refused?.repository },
        { outcome: 'refused', reason: 'queue is full', repository: 'acme/os' },
      );
      assert.deepEqual(
        { outcome: built?.outcome, buildId: built?.buildId, ref: built?.ref, repository: built?.repository },
        { outcome: 'build', buildId: build.id, ref: 'refs/tags/listed', repository: 'acme/os' },
      );
      // A refused delivery sent again is looked at again (and may be ignored, or build, now).
      assert.equal((await store.recordIgnored('ls-4', 'push', 'later')).outcome, 'ignored');
    });

    it('keeps a tag and a branch of the same name apart', async () => {
      const { build: branch } = await store.createBuild(newBuild({ branch: 'v9', refType: 'branch' }));
      const { superseded } = await store.createBuild(newBuild({ branch: 'v9', refType: 'tag' }));
      assert.equal(superseded.length, 0);
      assert.equal((await store.getBuild(branch.id))!.state, 'queued');
    });

    it('answers a replayed push body with the build it made, under any delivery id', async () => {
      const push = (commit: string, before: string | null, body: string, deliveryId: string) =>
        store.createBuild(
          newBuild({ branch: 'replay', commit, deliveryId, push: { before, bodySha256: body } }),
        );
      const [A, B] = ['a'.repeat(40), 'b'.repeat(40)];
      const first = await push(A, '0'.repeat(40), 'body-1', 'r-1');
      assert.equal(first.created, true);
      const second = await push(B, A, 'body-2', 'r-2');
      assert.equal(second.created, true);
      // The old body again, new delivery id: answers the first build, records nothing new.
      const replay = await push(A, '0'.repeat(40), 'body-1', 'r-3');
      assert.equal(replay.created, false);
      assert.equal(replay.build.id, first.build.id);
      assert.equal((await store.findDelivery('r-3'))?.buildId, first.build.id);
      assert.equal((await store.getBuild(second.build.id))!.state, 'queued', 'nothing superseded');
      // A body never seen, for a commit this ref has a build of, not moving it from where it is.
      const unseen = await push(A, 'c'.repeat(40), 'body-x', 'r-4');
      assert.deepEqual([unseen.created, unseen.build.id], [false, first.build.id]);
      // A force-push back to A (GitHub's `before` is B, the latest) builds A again.
      const back = await push(A, B, 'body-3', 'r-5');
      assert.equal(back.created, true);
      assert.notEqual(back.build.id, first.build.id);
      // ... and its replay, as well as the replay of the push to B, answer their builds.
      assert.equal((await push(A, B, 'body-3', 'r-6')).build.id, back.build.id);
      const replayB = await push(B, A, 'body-2', 'r-7');
      assert.deepEqual([replayB.created, replayB.build.id], [false, second.build.id]);
      // A rebuild or manual trigger (no push facts) always builds.
      assert.equal((await store.createBuild(newBuild({ branch: 'replay', commit: A }))).created, true);
      // The same commit on another ref, or as a tag, is another push.
      assert.equal((await push(A, null, 'body-4', 'r-8')).created, false);
      const tag = await store.createBuild(
        newBuild({
          branch: 'replay',
          refType: 'tag',
          commit: A,
          push: { before: null, bodySha256: 'body-5' },
        }),
      );
      assert.equal(tag.created, true);
    });

    it('makes one build of one commit when pushes of it race', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.createBuild(
            newBuild({
              branch: 'race',
              commit: 'd'.repeat(40),
              deliveryId: `race-${i}`,
              push: { before: null, bodySha256: `race-body-${i}` },
            }),
          ),
        ),
      );
      assert.equal(new Set(results.map((r) => r.build.id)).size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
    });

    it('supersedes older queued builds of the same ref, not running ones or other refs', async () => {
      const old = (await store.createBuild(newBuild({ branch: 'sup' }))).build;
      const running = (await store.createBuild(newBuild({ branch: 'sup2' }))).build;
      await store.transition(running.id, ['queued'], 'running');
      const other = (await store.createBuild(newBuild({ branch: 'sup-other' }))).build;
      const { build: newer, superseded } = await store.createBuild(newBuild({ branch: 'sup' }));
      assert.deepEqual(
        superseded.map((b) => b.id),
        [old.id],
      );
      assert.equal((await store.getBuild(old.id))!.state, 'superseded');
      assert.equal((await store.getBuild(old.id))!.reason, `superseded by #${newer.id}`);
      const { superseded: none } = await store.createBuild(newBuild({ branch: 'sup2' }));
      assert.equal(none.length, 0);
      assert.equal((await store.getBuild(running.id))!.state, 'running');
      assert.equal((await store.getBuild(other.id))!.state, 'queued');
    });

    it('returns a superseded build whole: its commits read, spread, serialised and assigned like any field', async () => {
      const commits = Array.from({ length: 3 }, (_, i) => ({
        sha: String(i).repeat(40),
        message: `m${i} «ü»`,
        author: 'Ann',
        url: `https://example.com/${i}`,
      }));
      const old = (await store.createBuild(newBuild({ branch: 'sup-whole', commits }))).build;
      const { superseded } = await store.createBuild(
        newBuild({ branch: 'sup-whole', commit: 'b'.repeat(40) }),
      );
      const [gone] = superseded;
      const stored = await store.getBuild(old.id);
      assert.deepEqual(gone, stored, 'the same build getBuild reads');
      assert.deepEqual({ ...gone! }.commits, commits, 'a spread copies the list');
      assert.deepEqual((JSON.parse(JSON.stringify(gone)) as typeof stored)!.commits, commits);
      assert.ok(Object.keys(gone!).includes('commits'));
      gone!.commits = [];
      assert.deepEqual(gone!.commits, [], 'assignable');
    });

    it('moves a build only from the states it names', async () => {
      const { build } = await store.createBuild(newBuild({ branch: 'tr' }));
      const started = await store.transition(build.id, ['queued'], 'running', {
        startedAt: '2026-01-01T00:00:00.000Z',
      });
      assert.equal(started?.state, 'running');
      assert.equal(started?.startedAt, '2026-01-01T00:00:00.000Z');
      assert.equal(await store.transition(build.id, ['queued'], 'cancelled'), null);
      const done = await store.transition(build.id, ['running'], 'failed', {
        reason: 'step 1 exited with code 2',
      });
      assert.equal(done?.reason, 'step 1 exited with code 2');
      const updated = await store.update(build.id, {
        steps: [{ index: 1, command: 'make', startedAt: 'x', exitCode: 2 }],
      });
      assert.equal(updated?.steps[0]?.exitCode, 2);
    });

    it("stores a boot test's outcome (migration 0004), null without one", async () => {
      const { build } = await store.createBuild(newBuild({ branch: 'boot' }));
      assert.equal(build.boot, null);
      await store.transition(build.id, ['queued'], 'running');
      const done = await store.transition(build.id, ['running'], 'failed', {
        reason: 'boot test: no `up` within 3m',
        boot: { ok: false, seconds: 180 },
      });
      assert.deepEqual(done?.boot, { ok: false, seconds: 180 });
      assert.deepEqual((await store.getBuild(build.id))?.boot, { ok: false, seconds: 180 });
      assert.deepEqual((await store.update(build.id, { boot: null }))?.boot, null);
    });

    it('lists active builds oldest first and history newest first, paginated', async () => {
      const active = await store.listActive();
      assert.ok(active.every((b) => b.state === 'queued' || b.state === 'running'));
      assert.deepEqual(
        active.map((b) => b.id),
        [...active.map((b) => b.id)].sort((x, y) => x - y),
      );
      for (let i = 0; i < 5; i += 1) {
        const { build } = await store.createBuild(newBuild({ branch: `h${i}` }));
        await store.transition(build.id, ['queued'], 'success');
      }
      const first = await store.listHistory({ limit: 3 });
      assert.equal(first.builds.length, 3);
      assert.ok(first.builds[0]!.id > first.builds[2]!.id);
      assert.ok(first.nextBefore !== null);
      const second = await store.listHistory({ limit: 3, before: first.nextBefore! });
      assert.ok(second.builds.every((b) => b.id < first.builds[2]!.id));
      const all = await store.listHistory({ limit: 500 });
      assert.equal(all.nextBefore, null);
      assert.ok(all.builds.every((b) => !['queued', 'running'].includes(b.state)));
    });

    it("pages one repository's builds in every state, newest first, optionally of one branch", async () => {
      const repository = 'acme/paged';
      const made = [];
      for (let i = 0; i < 5; i++)
        made.push((await store.createBuild(newBuild({ repository, branch: `b${i}` }))).build);
      await store.createBuild(newBuild({ repository: 'acme/elsewhere', branch: 'main' }));
      await store.transition(made[0]!.id, ['queued'], 'running');
      await store.transition(made[0]!.id, ['running'], 'failed', { reason: 'x' });
      await store.transition(made[1]!.id, ['queued'], 'running');
      const first = await store.listRepositoryBuilds({ repository, limit: 2 });
      assert.deepEqual(
        first.builds.map((b) => b.id),
        [made[4]!.id, made[3]!.id],
      );
      assert.equal(first.nextBefore, made[3]!.id);
      const rest = await store.listRepositoryBuilds({ repository, limit: 10, before: first.nextBefore! });
      assert.deepEqual(
        rest.builds.map((b) => b.id),
        [made[2]!.id, made[1]!.id, made[0]!.id],
      );
      assert.deepEqual(
        rest.builds.map((b) => b.state),
        ['queued', 'running', 'failed'],
      );
      assert.equal(rest.nextBefore, null);
      // A later build of branch b1: the branch's page has both, and only those.
      const again = (await store.createBuild(newBuild({ repository, branch: 'b1', commit: 'b'.repeat(40) })))
        .build;
      const b1 = await store.listRepositoryBuilds({ repository, branch: 'b1', limit: 10 });
      assert.deepEqual(
        b1.builds.map((b) => b.id),
        [again.id, made[1]!.id],
      );
      assert.deepEqual((await store.listRepositoryBuilds({ repository: 'acme/none', limit: 5 })).builds, []);
    });

    it('supersedes the oldest queued builds of a repository past its queue limit, atomically', async () => {
      const limits = { perRepository: 3, total: 1_000_000 };
      const repository = 'acme/capped';
      const running = (await store.createBuild(newBuild({ repository, branch: 'r' }), limits)).build;
      await store.transition(running.id, ['queued'], 'running');
      const other = (await store.createBuild(newBuild({ repository: 'acme/other', branch: 'o' }), limits))
        .build;
      const first = [];
      for (const branch of ['b1', 'b2', 'b3']) {
        const { superseded } = await store.createBuild(newBuild({ repository, branch }), limits);
        assert.equal(superseded.length, 0, 'up to the limit nothing is superseded');
        first.push((await store.latestForRef(repository, 'branch', branch))!);
      }
      const { build: fourth, superseded } = await store.createBuild(
        newBuild({ repository, branch: 'b4' }),
        limits,
      );
      assert.deepEqual(
        superseded.map((b) => b.id),
        [first[0]!.id],
        'the oldest queued build of the repository goes',
      );
      const oldest = (await store.getBuild(first[0]!.id))!;
      assert.equal(oldest.state, 'superseded');
      assert.equal(oldest.reason, `queue limit (3) for ${repository} reached; superseded by #${fourth.id}`);
      assert.ok(oldest.finishedAt);
      assert.equal((await store.getBuild(running.id))!.state, 'running', 'running builds do not count');
      assert.equal((await store.getBuild(other.id))!.state, 'queued', 'other repositories are untouched');
      // Many at once: the count and the change are one step, so exactly the newest `limit` stay.
      const burst = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.createBuild(newBuild({ repository, branch: `p${i}` }), limits),
        ),
      );
      const queued = (await store.listActive()).filter(
        (b) => b.repository === repository && b.state === 'queued',
      );
      assert.deepEqual(
        queued.map((b) => b.id),
        burst
          .map((r) => r.build.id)
          .sort((x, y) => x - y)
          .slice(-3),
      );
    });

    it('supersedes pull requests awaiting approval first when a repository is past its limit', async () => {
      const limits = { perRepository: 2, total: 1_000_000 };
      const repository = 'acme/forked';
      const own = (await store.createBuild(newBuild({ repository, branch: 'master' }), limits)).build;
      const pull = (number: number) => ({
        number,
        title: 'x',
        baseBranch: 'master',
        headRepository: 'x/y',
        fork: true,
        author: 'x',
        approval: 'awaiting' as const,
      });
      const fork = (
        await store.createBuild(
          newBuild({ repository, refType: 'pull', branch: 'pr-1', pull: pull(1) }),
          limits,
        )
      ).build;
      const { superseded } = await store.createBuild(
        newBuild({ repository, refType: 'pull', branch: 'pr-2', pull: pull(2) }),
        limits,
      );
      assert.deepEqual(
        superseded.map((b) => b.id),
        [fork.id],
        'the awaiting fork PR goes, not the older build of the repository itself',
      );
      assert.equal((await store.getBuild(own.id))!.state, 'queued');
      for (const b of [own, ...superseded, ...(await store.listActive())].filter(
        (x) => x.repository === repository,
      ))
        await store.transition(b.id, ['queued'], 'cancelled');
    });

    it('refuses a pull request awaiting approval rather than push out a build of the repository itself', async () => {
      const limits = { perRepository: 2, total: 1_000_000 };
      const repository = 'acme/flooded';
      const own = [
        (await store.createBuild(newBuild({ repository, branch: 'master' }), limits)).build,
        (await store.createBuild(newBuild({ repository, branch: 'dev' }), limits)).build,
      ];
      const fork = newBuild({
        repository,
        refType: 'pull',
        branch: 'pr-3',
        pull: {
          number: 3,
          title: 'x',
          baseBranch: 'master',
          headRepository: 'x/y',
          fork: true,
          author: 'x',
          approval: 'awaiting',
        },
      });
      await assert.rejects(
        store.createBuild(fork, limits),
        (e: Error) => e instanceof AppError && e.code === 'QUEUE_FULL',
      );
      for (const b of own) assert.equal((await store.getBuild(b.id))!.state, 'queued');
      assert.deepEqual(
        (await store.listActive()).filter((b) => b.repository === repository).map((b) => b.id),
        own.map((b) => b.id),
        'nothing stored for the refused pull request',
      );
      for (const b of own) await store.transition(b.id, ['queued'], 'cancelled');
    });

    it('supersedes a build waiting for its base build last, but still within the limit', async () => {
      const limits = { perRepository: 2, total: 1_000_000, base: 'acme/kernel' };
      const component = (branch: string) =>
        newBuild({ repository: 'acme/module', branch, kind: 'incremental' });
      const baseBuild = (await store.createBuild(newBuild({ repository: 'acme/kernel', branch: 'w' }))).build;
      const waiting = (await store.createBuild(component('w'), limits)).build;
      const free = (await store.createBuild(component('x'), limits)).build;
      const { superseded } = await store.createBuild(component('y'), limits);
      assert.deepEqual(
        superseded.map((b) => b.id),
        [free.id],
        'the build held back by its base stays; the oldest free one goes',
      );
      // Held while its base build runs; once that ended, it is the oldest like any other.
      await store.transition(baseBuild.id, ['queued'], 'running');
      const { superseded: next } = await store.createBuild(component('z'), limits);
      assert.notEqual(next[0]?.id, waiting.id, 'still waiting while its base build runs');
      await store.transition(baseBuild.id, ['running'], 'success');
      const { superseded: last } = await store.createBuild(component('v'), limits);
      assert.deepEqual(
        last.map((b) => b.id),
        [waiting.id],
        'once its base build ended it is the oldest like any other',
      );
      const queued = (await store.listActive()).filter(
        (b) => b.repository === 'acme/module' && b.state === 'queued',
      );
      assert.equal(queued.length, 2, 'the limit holds all along');
    });

    it('refuses a build that would grow the queue past the total limit, storing nothing', async () => {
      const queued = (await store.countByState()).queued;
      const limits = { perRepository: 1_000_000, total: queued + 1 };
      const { build: last } = await store.createBuild(
        newBuild({ repository: 'acme/full', branch: 'f0' }),
        limits,
      );
      assert.equal((await store.countByState()).queued, queued + 1);
      await assert.rejects(
        store.createBuild(newBuild({ repository: 'acme/full', branch: 'f1', deliveryId: 'full-1' }), limits),
        (error: Error & { code?: string }) =>
          error.code === 'QUEUE_FULL' && /queue is full/.test(error.message),
      );
      assert.equal((await store.countByState()).queued, queued + 1, 'no build stored');
      assert.equal(await store.findDelivery('full-1'), null, 'no delivery claimed: it can be redelivered');
      assert.equal(await store.latestForRef('acme/full', 'branch', 'f1'), null);
      // A push that replaces a queued build does not grow the queue: accepted even when full.
      const { build: again, superseded } = await store.createBuild(
        newBuild({ repository: 'acme/full', branch: 'f0' }),
        limits,
      );
      assert.deepEqual(
        superseded.map((b) => b.id),
        [last.id],
      );
      assert.equal(again.state, 'queued');
      // Once it drains, the refused delivery builds (GitHub's redelivery).
      await store.transition(again.id, ['queued'], 'running');
      const { created } = await store.createBuild(
        newBuild({ repository: 'acme/full', branch: 'f1', deliveryId: 'full-1' }),
        limits,
      );
      assert.equal(created, true);
    });

    it('pages queued builds oldest first by id, stable while builds are added', async () => {
      const before = await store.listQueued({ limit: 1_000_000 });
      const mine = [];
      for (let i = 0; i < 7; i += 1)
        mine.push((await store.createBuild(newBuild({ repository: 'acme/page', branch: `q${i}` }))).build.id);
      const seen: number[] = [];
      let after: number | undefined = before.builds.at(-1)?.id;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await store.listQueued({ limit: 3, after });
        assert.ok(page.builds.length <= 3);
        seen.push(...page.builds.map((b) => b.id));
        if (pages === 0) await store.createBuild(newBuild({ repository: 'acme/page', branch: 'late' }));
        if (page.nextAfter === null) break;
        after = page.nextAfter;
      }
      const late = (await store.latestForRef('acme/page', 'branch', 'late'))!.id;
      assert.deepEqual(seen, [...mine, late]);
      assert.ok((await store.listRunning()).every((b) => b.state === 'running'));
      assert.equal(await store.countQueued(), (await store.countByState()).queued);
      const refs = await store.listQueuedRefs();
      const branches = [...Array.from({ length: 7 }, (_, i) => `q${i}`), 'late'];
      assert.deepEqual(
        refs.slice(-8),
        [...mine, late].map((id, i) => ({
          ...{ id, repository: 'acme/page', refType: 'branch', branch: branches[i], kind: 'full' },
        })),
      );
      assert.equal(refs.length, await store.countQueued());
      assert.ok((await store.countQueued()) >= seen.length);
    });

    it('finds the latest build of a ref and counts states', async () => {
      await store.createBuild(newBuild({ repository: 'acme/lr', branch: 'x', commit: 'b'.repeat(40) }));
      const { build: latest } = await store.createBuild(
        newBuild({ repository: 'acme/lr', branch: 'x', commit: 'c'.repeat(40) }),
      );
      const { build: tag } = await store.createBuild(
        newBuild({ repository: 'acme/lr', refType: 'tag', branch: 'x', commit: 'd'.repeat(40) }),
      );
      assert.equal((await store.latestForRef('acme/lr', 'branch', 'x'))!.id, latest.id);
      assert.equal((await store.latestForRef('acme/lr', 'tag', 'x'))!.id, tag.id);
      assert.equal(await store.latestForRef('acme/lr', 'branch', 'nope'), null);
      const published = await store.transition(latest.id, ['queued'], 'success', { artifact: 'lr-x.efi' });
      assert.equal((await store.latestWithArtifact('lr-x.efi'))?.id, published!.id);
      assert.equal(await store.latestWithArtifact('nope.efi'), null);
      const counts = await store.countByState();
      assert.ok(counts.queued >= 1 && counts.success >= 5 && counts.superseded >= 1);
    });

    it('records cache uses: one row per engine and volume, last use only moves forward, forget', async () => {
      const engine = `e-${Date.now()}-${Math.random().toString(16).slice(2)}`;
      const use = {
        engine,
        volume: 'autobuilder-cache-abc_-master',
        repository: 'acme/os',
        path: '/var/cache/apt',
        refType: 'branch',
        branch: 'master',
        lastUsedAt: '2026-01-02T00:00:00.000Z',
      };
      await store.recordCacheUse(use);
      await store.recordCacheUse({ ...use, engine: `${engine}-2`, lastUsedAt: '2026-01-01T00:00:00.000Z' });
      await store.recordCacheUse({ ...use, lastUsedAt: '2026-01-03T00:00:00.000Z' });
      // A build that started earlier but records later does not move the time back.
      await store.recordCacheUse({ ...use, lastUsedAt: '2026-01-02T12:00:00.000Z' });
      const mine = (await store.listCacheUses()).filter((u) => u.engine.startsWith(engine));
      assert.deepEqual(mine, [
        { ...use, engine: `${engine}-2`, lastUsedAt: '2026-01-01T00:00:00.000Z' },
        { ...use, lastUsedAt: '2026-01-03T00:00:00.000Z' },
      ]);
      await store.forgetCache(engine, use.volume);
      await store.forgetCache(engine, use.volume);
      const left = (await store.listCacheUses()).filter((u) => u.engine.startsWith(engine));
      assert.deepEqual(
        left.map((u) => u.engine),
        [`${engine}-2`],
      );
    });

    it('claims queued builds for one owner under a lease, with every running build in view', async () => {
      const { build: a } = await store.createBuild(newBuild({ repository: 'acme/lease', branch: 'l1' }));
      const { build: b } = await store.createBuild(newBuild({ repository: 'acme/lease', branch: 'l2' }));
      let seen: number[] = [];
      const claimed = await store.claimBuilds('replica-a', 30_000, async (view) => {
        seen = view.queued.map((q) => q.id);
        return [{ id: a.id, patch: { engine: 'e1', startedAt: new Date().toISOString() } }];
      });
      assert.ok(seen.includes(a.id) && seen.includes(b.id));
      assert.equal(claimed.length, 1);
      const running = claimed[0]!;
      assert.equal(running.state, 'running');
      assert.equal(running.owner, 'replica-a');
      assert.equal(running.engine, 'e1');
      assert.equal(running.epoch, 1);
      assert.ok(Date.parse(running.leaseExpiresAt!) > Date.now() + 20_000);
      // The next planner (another replica) sees it running, with its engine and owner.
      await store
        .claimBuilds('replica-b', 30_000, async (view) => {
          const mine = view.running.find((r) => r.id === a.id);
          assert.deepEqual([mine?.engine, mine?.owner], ['e1', 'replica-a']);
          assert.ok(!view.queued.some((q) => q.id === a.id));
          // Claiming a build that is no longer queued claims nothing.
          return [{ id: a.id, patch: {} }];
        })
        .then((again) => assert.deepEqual(again, []));
    });

    it('renews and fences only the lease its owner still holds', async () => {
      const { build } = await store.createBuild(newBuild({ repository: 'acme/fence', branch: 'f' }));
      const [held] = await store.claimBuilds('replica-a', 30_000, async () => [{ id: build.id, patch: {} }]);
      const fence = { owner: 'replica-a', epoch: held!.epoch };
      assert.equal(
        (await store.renewLeases('replica-a', 60_000, [{ id: build.id, epoch: fence.epoch }])).length,
        1,
      );
      assert.deepEqual(
        await store.renewLeases('replica-b', 60_000, [{ id: build.id, epoch: fence.epoch }]),
        [],
      );
      assert.deepEqual(
        await store.renewLeases('replica-a', 60_000, [{ id: build.id, epoch: fence.epoch + 1 }]),
        [],
      );
      // A stale fence changes nothing; the right one does.
      assert.equal(
        await store.update(build.id, { artifact: 'x.efi' }, { ...fence, owner: 'replica-b' }),
        null,
      );
      assert.equal((await store.update(build.id, { artifact: 'x.efi' }, fence))?.artifact, 'x.efi');
      assert.equal(
        await store.transition(build.id, ['running'], 'success', {}, { ...fence, epoch: 99 }),
        null,
      );
      // Another replica reaps it (fenced by the epoch it saw); the owner's writes then fail.
      const reaped = await store.transition(
        build.id,
        ['running'],
        'interrupted',
        { cause: 'interrupted' },
        fence,
      );
      assert.equal(reaped?.state, 'interrupted');
      assert.equal(reaped?.cause, 'interrupted');
      assert.equal(reaped?.leaseExpiresAt, null);
      assert.equal(await store.transition(build.id, ['running'], 'success', {}, fence), null);
      assert.equal(await store.update(build.id, { artifact: 'y.efi' }, fence), null);
      assert.deepEqual(
        await store.renewLeases('replica-a', 60_000, [{ id: build.id, epoch: fence.epoch }]),
        [],
      );
    });

    it('an expired lease is not renewed', async () => {
      const { build } = await store.createBuild(newBuild({ repository: 'acme/expire', branch: 'e' }));
      const [held] = await store.claimBuilds('replica-a', -1000, async () => [{ id: build.id, patch: {} }]);
      assert.ok(Date.parse(held!.leaseExpiresAt!) < Date.now());
      assert.deepEqual(
        await store.renewLeases('replica-a', 30_000, [{ id: build.id, epoch: held!.epoch }]),
        [],
      );
    });

    it('records stop requests on running builds only, cleared by the final state', async () => {
      const { build } = await store.createBuild(newBuild({ repository: 'acme/stop', branch: 's' }));
      assert.equal(await store.requestStop(build.id, { state: 'cancelled', reason: 'r' }), null);
      await store.claimBuilds('replica-a', 30_000, async () => [{ id: build.id, patch: {} }]);
      const asked = await store.requestStop(build.id, { state: 'cancelled', reason: 'by request' });
      assert.deepEqual(asked?.cancelRequested, { state: 'cancelled', reason: 'by request' });
      assert.deepEqual((await store.getBuild(build.id))!.cancelRequested, asked!.cancelRequested);
      const done = await store.transition(build.id, ['running'], 'cancelled', { cause: 'cancelled' });
      assert.equal(done?.cancelRequested, null);
    });

    it('keeps replica heartbeats and shared settings', async () => {
      assert.equal(await store.getSetting('paused'), null);
      await store.setSetting('paused', 'true');
      await store.setSetting('paused', 'false');
      assert.equal(await store.getSetting('paused'), 'false');
      await store.heartbeat({ instance: 'r-1', host: 'h', pid: 1, startedAt: '2026-01-01T00:00:00.000Z' });
      await store.heartbeat({ instance: 'r-1', host: 'h', pid: 2, startedAt: '2026-01-01T00:00:00.000Z' });
      const replicas = (await store.listReplicas()).filter((r) => r.instance === 'r-1');
      assert.equal(replicas.length, 1);
      assert.equal(replicas[0]!.pid, 2);
      assert.ok(Date.parse(replicas[0]!.heartbeatAt) > Date.now() - 60_000);
    });
  });
}
