/**
 * The scheduler's guarantees, on the fake executor with the real pipeline, real SQLite files and
 * real local git repositories.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Build } from '../../src/domain/build.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { TEMP_PREFIX } from '../../src/pipeline/pipeline.js';
import { gateCommand } from '../helpers/gate.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  closeHarnesses,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

const FULL = fakeRule(
  ['echo building $AUTOBUILD_BRANCH', 'echo kernel-$AUTOBUILD_COMMIT > /target/vmlinuz.efi'],
  { commit: 'acme/full:{branch}', publish: 'full-{branch}-{short}.efi', link: 'full-{branch}.efi' },
);
const INC = {
  base: 'acme/full',
  checkout: '/inc',
  steps: ['cat /src/state', 'echo inc > /target/vmlinuz.efi'],
  network: 'none',
  publish: 'inc-{branch}-{short}.efi',
  link: 'inc-{branch}.efi',
};

let harnesses: Harness[] = [];
async function harness(
  repositories: Record<string, unknown>,
  extra: Partial<Parameters<typeof startHarness>[0]> = {},
) {
  const h = await startHarness({ repositories, executor: extra.executor ?? new FakeExecutor(), ...extra });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  await closeHarnesses(harnesses).catch(() => undefined);
  harnesses = [];
});

const push = (h: Harness, repo: LocalRepo, branch: string, commit: string) =>
  enqueuePush(h, repo.repository, branch, commit);
const final = (h: Harness, id: number) => waitForFinal(h, id);
const state = async (h: Harness, id: number) => (await h.service.store.getBuild(id))!.state;

describe('Scheduler', () => {
  it('runs a push to success: log on disk, kernel published with its link, image committed, nothing left', async () => {
    const h = await harness({ 'acme/full': FULL });
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const sha = repo.commit('feature/x', { state: 'from-full' });
    const build = await final(h, (await push(h, repo, 'feature/x', sha)).id);
    assert.equal(build.state, 'success', build.reason ?? '');
    assert.equal(build.artifact, `full-feature_2fx-${sha.slice(0, 8)}.efi`);
    assert.equal(readFileSync(join(h.config.kernelTarget, build.artifact!), 'utf8'), `kernel-${sha}\n`);
    assert.equal(readlinkSync(join(h.config.kernelTarget, 'full-feature_2fx.efi')), build.artifact);
    assert.equal(build.image, 'acme/full:feature_2fx');
    const log = readFileSync(build.logPath!, 'utf8');
    assert.match(log, /==> step 1\/2: echo building/);
    assert.match(log, /^building feature\/x$/m);
    assert.deepEqual(
      build.steps.map((s) => s.exitCode),
      [0, 0],
    );
    const executor = h.service.executor as FakeExecutor;
    assert.equal(executor.containers.size, 0);
    assert.deepEqual(readdirSync(h.config.tmpDirectory), []);
  });

  it('starts incremental builds from the committed image, after the base build of their branch', async () => {
    const executor = new FakeExecutor();
    const gate = gateCommand(executor);
    const h = await harness(
      { 'acme/full': { ...FULL, steps: ['gate', ...FULL.steps] }, 'acme/inc': INC },
      { concurrency: 2, executor },
    );
    const full = new LocalRepo(h.gitRoot, 'acme/full');
    const inc = new LocalRepo(h.gitRoot, 'acme/inc');
    const fullBuild = await push(h, full, 'master', full.commit('master', { state: 'made-by-full' }));
    const incBuild = await push(h, inc, 'master', inc.commit('master', { 'x.c': 'int x;' }));
    await gate.reached;
    assert.equal(await state(h, fullBuild.id), 'running');
    assert.equal(await state(h, incBuild.id), 'queued');
    await waitFor(() => /waiting for base build/.test(h.service.scheduler.waitReason(incBuild.id) ?? ''));
    gate.release();
    const done = await final(h, incBuild.id);
    assert.equal((await h.service.store.getBuild(fullBuild.id))!.state, 'success');
    assert.equal(done.state, 'success', done.reason ?? '');
    assert.match(readFileSync(done.logPath!, 'utf8'), /==> image acme\/full:master/);
    assert.match(readFileSync(done.logPath!, 'utf8'), /^made-by-full$/m);
    // A second branch falls back to the master image.
    const dev = await final(h, (await push(h, inc, 'dev', inc.commit('dev', { 'y.c': '' }))).id);
    assert.equal(dev.state, 'success', dev.reason ?? '');
    assert.match(readFileSync(dev.logPath!, 'utf8'), /==> image acme\/full:master/);
  });

  it('a rule without publish needs no artifact: it only commits its image', async () => {
    const h = await harness({
      'acme/base': fakeRule(['true'], { commit: 'acme/base:{branch}' }),
    });
    const repo = new LocalRepo(h.gitRoot, 'acme/base');
    const b = await final(h, (await push(h, repo, 'master', repo.commit('master', { a: '1' }))).id);
    assert.equal(b.state, 'success', b.reason ?? '');
    assert.equal(b.artifact, null);
    assert.equal(b.image, 'acme/base:master');
  });

  it('fails with a clear reason: step exit code, missing artifact, unknown commit, no base image', async () => {
    const h = await harness({
      'acme/step': { ...FULL, steps: ['echo before', 'exit 3', 'echo never'] },
      'acme/noart': { ...FULL, steps: ['echo no kernel'] },
      'acme/full': FULL,
      'acme/inc': INC,
    });
    const reasons: Record<string, string | null> = {};
    for (const [name, branch] of [
      ['acme/step', 'm'],
      ['acme/noart', 'm'],
      ['acme/inc', 'nobase'],
    ] as const) {
      const repo = new LocalRepo(h.gitRoot, name);
      const b = await final(h, (await push(h, repo, branch, repo.commit(branch, { f: name }))).id);
      assert.equal(b.state, 'failed');
      reasons[name] = b.reason;
    }
    assert.equal(reasons['acme/step'], 'step 2 (exit 3) exited with code 3');
    assert.equal(reasons['acme/noart'], 'artifact not found: /target/vmlinuz.efi');
    assert.equal(reasons['acme/inc'], 'no base image for branch nobase');
    const full = new LocalRepo(h.gitRoot, 'acme/full');
    full.commit('master', { a: '1' });
    const unknown = await final(h, (await push(h, full, 'master', 'f'.repeat(40))).id);
    assert.equal(unknown.state, 'failed');
    assert.match(unknown.reason!, /^commit f{40} not found in /);
    assert.equal((h.service.executor as FakeExecutor).containers.size, 0);
    assert.deepEqual(readdirSync(h.config.tmpDirectory), []);
  });

  it('supersedes queued builds of the same branch; cancels queued and running builds', async () => {
    const h = await harness({ 'acme/full': { ...FULL, steps: ['sleep 30'] } });
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    h.service.scheduler.pause();
    const a = await push(h, repo, 'master', repo.commit('master', { a: '1' }));
    const b = await push(h, repo, 'master', repo.commit('master', { a: '2' }));
    assert.equal(await state(h, a.id), 'superseded');
    assert.equal((await h.service.store.getBuild(a.id))!.reason, `superseded by #${b.id}`);
    const other = await push(h, repo, 'dev', repo.commit('dev', { a: '3' }));
    assert.equal((await h.service.scheduler.cancel(other.id))!.state, 'cancelled');
    h.service.scheduler.resume();
    await waitFor(async () => (await state(h, b.id)) === 'running');
    await waitFor(() => (h.service.executor as FakeExecutor).containers.size === 1);
    const cancelled = await h.service.scheduler.cancel(b.id, 'cancelled by request');
    assert.equal(cancelled!.state, 'cancelled');
    assert.equal(cancelled!.reason, 'cancelled by request');
    assert.equal((h.service.executor as FakeExecutor).containers.size, 0);
    assert.match(readFileSync(cancelled!.logPath!, 'utf8'), /==> cancelled: cancelled by request/);
  });

  it('with cancel_running, a newer push stops the running build of its branch', async () => {
    const h = await harness({ 'acme/full': { ...FULL, steps: ['sleep 30'], cancel_running: true } });
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const a = await push(h, repo, 'master', repo.commit('master', { a: '1' }));
    await waitFor(async () => (await state(h, a.id)) === 'running');
    const b = await push(h, repo, 'master', repo.commit('master', { a: '2' }));
    const old = await final(h, a.id);
    assert.equal(old.state, 'superseded');
    assert.equal(old.reason, `superseded by #${b.id}`);
    await waitFor(async () => (await state(h, b.id)) === 'running');
  });

  it('fails a build that passes its timeout', async () => {
    const h = await harness({ 'acme/full': { ...FULL, steps: ['sleep 30'], timeout: '300ms' } });
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const b = await final(h, (await push(h, repo, 'master', repo.commit('master', { a: '1' }))).id);
    assert.equal(b.state, 'failed');
    assert.equal(b.reason, 'timeout after 300ms');
    assert.equal((h.service.executor as FakeExecutor).containers.size, 0);
  });

  it('keeps builds queued while the engine is down and runs them when it is back', async () => {
    const executor = new FakeExecutor();
    executor.available = false;
    const h = await harness({ 'acme/full': FULL }, { executor, retryMs: 50 });
    await h.listen();
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const b = await push(h, repo, 'master', repo.commit('master', { a: '1' }));
    await waitFor(() => h.service.scheduler.waitReason(b.id)?.startsWith('build engine unavailable'));
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { status: string; problems: string[] };
    assert.equal(body.status, 'degraded');
    assert.match(body.problems[0]!, /fake engine is down/);
    assert.equal(await state(h, b.id), 'queued');
    // No kick() by hand: the scheduler's own retry finds the engine back.
    executor.available = true;
    assert.equal((await final(h, b.id)).state, 'success');
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });

  it('/healthz answers within the ping deadline when the one engine hangs, and ends the ping', async () => {
    const executor = new FakeExecutor();
    const h = await harness({ 'acme/full': FULL }, { executor });
    await h.listen();
    let ended = 0;
    // A hung engine: the ping never answers; only its signal ends it.
    executor.ping = (signal?: AbortSignal) =>
      new Promise<void>((_, reject) =>
        signal?.addEventListener('abort', () => {
          ended += 1;
          reject(new Error('ping aborted'));
        }),
      );
    const health = await fetch(`${h.url}/healthz`, { signal: AbortSignal.timeout(20_000) });
    assert.equal(health.status, 503);
    const body = (await health.json()) as { problems: string[] };
    assert.match(body.problems[0]!, /build engine did not answer a ping within 3s/);
    assert.equal(ended, 1, "the ping's request was ended");
  });

  it('fails a build whose engine dies under it, naming the engine', async () => {
    const executor = new FakeExecutor();
    const h = await harness({ 'acme/full': FULL }, { executor });
    executor.exec = async () => {
      throw new Error('connect ENOENT /var/run/docker.sock');
    };
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const b = await final(h, (await push(h, repo, 'master', repo.commit('master', { a: '1' }))).id);
    assert.equal(b.state, 'failed');
    assert.equal(b.reason, 'build engine error: connect ENOENT /var/run/docker.sock');
    assert.equal(executor.containers.size, 0);
    const metrics = await h.service.metrics.registry.getSingleMetricAsString(
      'autobuilder_engine_errors_total',
    );
    assert.match(metrics, /autobuilder_engine_errors_total 1/);
  });

  it('after a crash, marks running builds interrupted, re-queues them once and removes leftovers', async () => {
    const first = await harness({ 'acme/full': FULL });
    const repo = new LocalRepo(first.gitRoot, 'acme/full');
    first.service.scheduler.pause();
    const b = await push(first, repo, 'master', repo.commit('master', { a: '1' }));
    // What a kill -9 leaves: the row says running, a container and a temp dir of ours remain.
    await first.service.store.transition(b.id, ['queued'], 'running', {
      startedAt: new Date().toISOString(),
    });
    await first.close();
    const leftover = join(first.config.tmpDirectory, `${TEMP_PREFIX}${b.id}-left`);
    mkdirSync(join(leftover, 'artifact'), { recursive: true });
    const executor = new FakeExecutor();
    await executor.start({ buildId: b.id, image: 'fake/base:latest', env: {}, network: 'none' });
    const second = await harness(
      { 'acme/full': FULL },
      { executor, home: first.home, gitRoot: first.gitRoot },
    );
    // The pause is a row: it survived the restart, and is lifted here.
    assert.equal(second.service.scheduler.isPaused, true);
    await second.service.scheduler.resume();
    const old = (await second.service.store.getBuild(b.id))!;
    assert.equal(old.state, 'interrupted');
    assert.match(old.reason!, /interrupted: the service stopped while it ran; re-queued/);
    const retry = await waitFor(async () =>
      (await second.service.store.listHistory({ limit: 5 })).builds.find((x: Build) => x.retryOf === b.id),
    );
    assert.equal(retry.state, 'success');
    assert.equal(retry.attempt, 2);
    assert.ok(![...executor.containers.values()].some((c) => c.spec.buildId === b.id));
    assert.equal(existsSync(leftover), false);
  });

  it('does not re-queue an interrupted build when a newer push to its branch is queued', async () => {
    const first = await harness({ 'acme/full': FULL });
    const repo = new LocalRepo(first.gitRoot, 'acme/full');
    first.service.scheduler.pause();
    const old = await push(first, repo, 'master', repo.commit('master', { a: '1' }));
    await first.service.store.transition(old.id, ['queued'], 'running', {
      startedAt: new Date().toISOString(),
    });
    const newer = await push(first, repo, 'master', repo.commit('master', { a: '2' }));
    await first.close();
    const second = await harness({ 'acme/full': FULL }, { home: first.home, gitRoot: first.gitRoot });
    await second.service.scheduler.resume();
    const stopped = (await second.service.store.getBuild(old.id))!;
    assert.equal(stopped.state, 'superseded');
    assert.match(stopped.reason!, new RegExp(`superseded by #${newer.id}$`));
    assert.equal((await final(second, newer.id)).state, 'success');
    const all = (await second.service.store.listHistory({ limit: 10 })).builds;
    assert.ok(!all.some((b) => b.retryOf === old.id), 'no retry of the older commit');
  });

  it('on stop, lets builds finish within the grace period, then interrupts and re-queues them', async () => {
    const h = await harness({ 'acme/full': { ...FULL, steps: ['sleep 30'] } });
    const repo = new LocalRepo(h.gitRoot, 'acme/full');
    const b = await push(h, repo, 'master', repo.commit('master', { a: '1' }));
    await waitFor(async () => (await state(h, b.id)) === 'running');
    const active = await h.service.store.listActive();
    assert.equal(active.length, 1);
    await h.service.scheduler.stop(100);
    const stopped = (await h.service.store.getBuild(b.id))!;
    assert.equal(stopped.state, 'interrupted');
    const queued = await h.service.store.listActive();
    assert.equal(queued.length, 1);
    assert.equal(queued[0]!.state, 'queued');
    assert.equal(queued[0]!.retryOf, b.id);
    assert.equal((h.service.executor as FakeExecutor).containers.size, 0);
    // The stopped build's own temp dir went with it (the pipeline removes it, not recovery).
    assert.deepEqual(readdirSync(h.config.tmpDirectory), []);
  });
});
