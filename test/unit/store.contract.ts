/** The Store contract: every Store implementation (SQLite now, PostgreSQL later) must pass it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NewBuild } from '../../src/domain/build.js';
import type { Store } from '../../src/store/store.js';

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
  });
}
