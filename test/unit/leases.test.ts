/**
 * Several replicas on one PostgreSQL (issue 14), as two services in this process on one schema,
 * each with its own fake engine, home and instance id: global planning, reaping with fencing at
 * the commit point, cancel and pause through the database. The real-process, real-engine
 * version is test/integration/replicas.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  removeHome,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres-schema.js';
import { fakeRule } from '../helpers/fake-rule.js';

const rule = (steps: string[]) =>
  fakeRule([...steps, 'echo kernel-$AUTOBUILD_COMMIT > /target/vmlinuz.efi'], {
    publish: 'full-{branch}-{short}.efi',
  });

let open: Harness[] = [];
let schemas: TestSchema[] = [];
afterEach(async () => {
  for (const h of open) await h.close().catch(() => undefined);
  for (const h of open) removeHome(h);
  for (const s of schemas) await s.drop();
  open = [];
  schemas = [];
});

/** Two replicas on a fresh schema; `a`/`b` override their `replicas` settings. */
async function replicas(
  steps: string[],
  a: Record<string, number> = {},
  b: Record<string, number> = {},
  concurrency = 1,
): Promise<[Harness, Harness, LocalRepo]> {
  const schema = await createTestSchema('ab_leases');
  schemas.push(schema);
  const start = async (settings: Record<string, number>, gitRoot?: string) => {
    const h = await startHarness({
      repositories: { 'acme/full': rule(steps) },
      executor: new FakeExecutor(),
      concurrency,
      gitRoot,
      extra: { database_url: schema.url, replicas: { poll: 100, ...settings } },
    });
    open.push(h);
    return h;
  };
  const first = await start(a);
  const second = await start(b, first.gitRoot);
  return [first, second, new LocalRepo(first.gitRoot, 'acme/full')];
}

describe('Replicas on one database', () => {
  it('plan with every replica’s running builds: global concurrency 1 never runs two at once', async () => {
    const [a, b, repo] = await replicas(['sleep 0.3']);
    assert.notEqual(a.service.scheduler.instance, b.service.scheduler.instance);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const h = i % 2 ? b : a;
      ids.push((await enqueuePush(h, 'acme/full', `b${i}`, repo.commit(`b${i}`, { i: String(i) }))).id);
    }
    const builds = await Promise.all(ids.map((id) => waitForFinal(a, id, 30_000)));
    for (const build of builds) assert.equal(build.state, 'success', build.reason ?? '');
    const spans = builds
      .map((x) => [Date.parse(x.startedAt!), Date.parse(x.finishedAt!)] as const)
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++)
      assert.ok(spans[i]![0] >= spans[i - 1]![1], `build ${i} started before the one before it ended`);
    const owners = new Set(builds.map((x) => x.owner));
    assert.ok(
      [...owners].every((o) => o === a.service.scheduler.instance || o === b.service.scheduler.instance),
    );
  });

  it('reaps a build whose owner stopped renewing; the owner neither publishes nor marks it final', async () => {
    // `a` looks (and so renews) far too rarely: its 400 ms lease expires while its build sleeps.
    const [a, b, repo] = await replicas(['sleep 1.5'], { lease: 400, renew: 300, poll: 60_000 }, {});
    await b.service.scheduler.pause();
    const sha = repo.commit('master', { a: '1' });
    const build = await enqueuePush(a, 'acme/full', 'master', sha);
    const running = await waitFor(async () => {
      const x = await a.service.store.getBuild(build.id);
      return x?.state === 'running' ? x : undefined;
    });
    assert.equal(running.owner, a.service.scheduler.instance);
    await b.service.scheduler.resume();
    const reaped = await waitForFinal(b, build.id);
    assert.equal(reaped.state, 'interrupted');
    assert.equal(reaped.cause, 'interrupted');
    assert.match(reaped.reason!, /stopped renewing its lease.*re-queued/);
    const retry = await waitFor(async () =>
      (await b.service.store.listHistory({ limit: 10 })).builds.find((x) => x.retryOf === build.id),
    );
    assert.equal(retry.state, 'success', retry.reason ?? '');
    // `a` came to its commit point after the reap: fenced, it published nothing and wrote nothing.
    await waitFor(() => readFileSync(running.logPath!, 'utf8').includes('==> lost the lease'), 20_000);
    assert.deepEqual(
      readdirSync(a.config.kernelTarget).filter((f) => f.endsWith('.efi')),
      [],
    );
    const after = (await a.service.store.getBuild(build.id))!;
    assert.equal(after.state, 'interrupted', 'the reaper’s record stands');
    assert.equal(after.artifact, null);
    assert.ok(existsSync(join(b.config.kernelTarget, `full-master-${sha.slice(0, 8)}.efi`)));
  });

  it('a cancel sent to the replica that does not run the build stops it within 2 s', async () => {
    const [a, b, repo] = await replicas(['sleep 30'], { poll: 1000 }, { poll: 1000 });
    await b.service.scheduler.pause();
    const build = await enqueuePush(a, 'acme/full', 'master', repo.commit('master', { a: '1' }));
    await waitFor(async () => (await a.service.store.getBuild(build.id))?.state === 'running');
    const started = Date.now();
    const cancelled = await b.service.scheduler.cancel(build.id, 'cancelled by request');
    const took = Date.now() - started;
    assert.equal(cancelled!.state, 'cancelled');
    assert.equal(cancelled!.cause, 'cancelled');
    assert.equal(cancelled!.owner, a.service.scheduler.instance);
    assert.equal(cancelled!.cancelRequested, null, 'the request is cleared with the final state');
    assert.ok(took < 2000, `took ${took} ms`);
  });

  it('a cancel asked for when the owner has died ends the build cancelled, not re-queued', async () => {
    // `a` never looks again (poll 60 s): it cannot act on the request, and its lease runs out.
    const [a, b, repo] = await replicas(['sleep 30'], { lease: 400, renew: 300, poll: 60_000 }, {});
    await b.service.scheduler.pause();
    const build = await enqueuePush(a, 'acme/full', 'master', repo.commit('master', { a: '1' }));
    await waitFor(async () => (await a.service.store.getBuild(build.id))?.state === 'running');
    const cancelled = await b.service.scheduler.cancel(build.id, 'cancelled by request');
    assert.equal(cancelled!.state, 'cancelled');
    assert.equal(cancelled!.reason, 'cancelled by request');
    const all = (await b.service.store.listActive()).concat(
      (await b.service.store.listHistory({ limit: 10 })).builds,
    );
    assert.ok(!all.some((x) => x.retryOf === build.id), 'not re-queued');
  });

  it('pause is one row every replica follows', async () => {
    const [a, b, repo] = await replicas([]);
    await a.service.scheduler.pause();
    await waitFor(() => b.service.scheduler.isPaused);
    const queued = await enqueuePush(b, 'acme/full', 'master', repo.commit('master', { a: '1' }));
    assert.equal(b.service.scheduler.waitReason(queued.id), 'queue paused');
    assert.equal((await b.service.store.getBuild(queued.id))!.state, 'queued');
    await b.service.scheduler.resume();
    await waitFor(() => !a.service.scheduler.isPaused);
    assert.equal((await waitForFinal(a, queued.id)).state, 'success');
  });

  it('records why a build failed as a typed cause', async () => {
    const [a, , repo] = await replicas(['exit 3']);
    const build = await waitForFinal(
      a,
      (await enqueuePush(a, 'acme/full', 'x', repo.commit('x', { a: '1' }))).id,
    );
    assert.equal(build.state, 'failed');
    assert.equal(build.cause, 'build');
  });
});
