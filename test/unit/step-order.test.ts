/**
 * Step records and the final state (issue 12): the scheduler wrote each step record fire-and-forget
 * and published whatever the write returned, so a slow write could be published after the final
 * state and show a finished build as running again. Here every step write answers slowly (a store
 * wrapper that delays the answer, not the write: a busy database connection), on the real pipeline
 * with the fake executor and a real SQLite file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, it } from 'node:test';
import { pino } from 'pino';
import { isFinal, type Build, type BuildState, type NewBuild } from '../../src/domain/build.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { EventBus } from '../../src/live/event-bus.js';
import { GitMirrors } from '../../src/pipeline/git-mirror.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { BuildPatch, Store } from '../../src/store/store.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

const RULE = fakeRule(['echo one', 'echo two', 'echo kernel > /target/vmlinuz.efi'], {
  publish: 'order-{branch}.efi',
});
const DELAY_MS = 100;

/** Answers writes that carry steps (and leave the state as it is) DELAY_MS late. */
function slowStepWrites(inner: Store): { store: Store; pending: Promise<unknown>[] } {
  const pending: Promise<unknown>[] = [];
  const late = <T>(result: Promise<T>): Promise<T> => {
    const answer = result.then(async (value) => {
      await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
      return value;
    });
    pending.push(answer.catch(() => undefined));
    return answer;
  };
  const store: Store = Object.create(inner) as Store;
  store.update = (id: number, patch: BuildPatch) =>
    patch.steps ? late(inner.update(id, patch)) : inner.update(id, patch);
  store.transition = (id: number, from: readonly BuildState[], to: BuildState, patch?: BuildPatch) =>
    patch?.steps && !isFinal(to)
      ? late(inner.transition(id, from, to, patch))
      : inner.transition(id, from, to, patch);
  return { store, pending };
}

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  if (h) removeHome(h);
  h = null;
});

it('a step record answered late is never published after the final state', async () => {
  h = await startHarness({ repositories: { 'acme/order': RULE }, executor: new FakeExecutor() });
  const repo = new LocalRepo(h.gitRoot, 'acme/order');
  const sha = repo.commit('main', { a: '1' });
  const { store, pending } = slowStepWrites(h.service.store);
  const executor = new FakeExecutor();
  const bus = new EventBus();
  const { config } = h;
  const scheduler = new Scheduler({
    store,
    executor,
    bus,
    logger: pino({ level: 'silent' }),
    rules: config.rules,
    concurrency: 1,
    logsDirectory: config.logsDirectory,
    tmpDirectory: config.tmpDirectory,
    requeueInterrupted: 1,
    pipeline: {
      mirrors: new GitMirrors(join(config.dataDirectory, 'order-mirrors'), config.gitUrl),
      kernelTarget: config.kernelTarget,
    },
  });
  const published: Build[] = [];
  bus.onBuild(({ build }) => published.push(build));
  const input: NewBuild = {
    project: 't',
    repository: 'acme/order',
    refType: 'branch',
    branch: 'main',
    commit: sha,
    kind: 'full',
    pusher: null,
    deliveryId: null,
    commits: [],
  };
  const { build } = await scheduler.enqueue(input);
  await scheduler.idle();
  // Late answers still under way when the build ended are published when they come.
  while (pending.length > 0) await Promise.all(pending.splice(0));

  const states = published.filter((b) => b.id === build.id).map((b) => b.state);
  const end = states.findIndex((state) => isFinal(state));
  assert.notEqual(end, -1, `no final state published: ${states.join(' ')}`);
  assert.deepEqual(states.slice(end), ['success'], `published after the end: ${states.join(' ')}`);
  const stored = (await h.service.store.getBuild(build.id))!;
  assert.equal(stored.state, 'success');
  assert.deepEqual(
    stored.steps.map((s) => s.exitCode),
    [0, 0, 0],
    'the final state carries every step with its exit code',
  );
  await scheduler.stop(0);
});
