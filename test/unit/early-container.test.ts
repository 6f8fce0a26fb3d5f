/**
 * The container is made while the repository file is read (pipeline/build-container.ts): kept when
 * the commit has no file, replaced (and its log lines dropped) when the file changes the rule, and
 * removed when the file leaves the ref out. A rule with caches waits for the file (its volumes
 * must be the build's rule's).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ContainerHandle, ContainerSpec } from '../../src/executor/executor.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  closeHarnesses,
  enqueuePush,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

class CountingExecutor extends FakeExecutor {
  readonly created: { id: string; step: string | undefined }[] = [];
  readonly destroyed: string[] = [];
  readonly volumesMade: string[] = [];

  override async createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    this.volumesMade.push(name);
    return super.createVolume(name, labels);
  }

  override async create(spec: ContainerSpec): Promise<ContainerHandle> {
    const handle = await super.create(spec);
    this.created.push({ id: handle.id, step: spec.firstStep?.command });
    return handle;
  }

  override async destroy(handle: ContainerHandle | string): Promise<void> {
    this.destroyed.push(typeof handle === 'string' ? handle : handle.id);
    return super.destroy(handle);
  }
}

describe('the container made while the repository file is read', () => {
  const harnesses: Harness[] = [];
  after(() => closeHarnesses(harnesses));

  async function build(files: Record<string, string>) {
    const executor = new CountingExecutor();
    const h = await startHarness({
      executor,
      repositories: { 'acme/app': fakeRule(['echo server-step']) },
    });
    harnesses.push(h);
    const sha = new LocalRepo(h.gitRoot, 'acme/app').commit('master', { a: '1', ...files });
    const queued = await enqueuePush(h, 'acme/app', 'master', sha);
    const done = await waitForFinal(h, queued.id);
    return { executor, done, log: readFileSync(done.logPath!, 'utf8') };
  }

  it('without a repository file, the one container made meanwhile is the build’s', async () => {
    const { executor, done, log } = await build({});
    assert.equal(done.state, 'success', done.reason ?? '');
    assert.deepEqual(
      executor.created.map((c) => c.step),
      ['echo server-step'],
    );
    assert.equal((log.match(/==> image /g) ?? []).length, 1);
  });

  it('a file that changes the steps: that container is removed, a new one runs the file’s step', async () => {
    const { executor, done, log } = await build({ '.autobuilder.yaml': 'steps: ["echo file-step"]\n' });
    assert.equal(done.state, 'success', done.reason ?? '');
    assert.deepEqual(
      executor.created.map((c) => c.step),
      ['echo server-step', 'echo file-step'],
    );
    await waitFor(() => executor.destroyed.includes(executor.created[0]!.id));
    // The replaced container's lines never reach the log: one image line, after the file's.
    assert.equal((log.match(/==> image /g) ?? []).length, 1);
    assert.ok(log.indexOf('.autobuilder.yaml at') < log.indexOf('==> image '), log);
    assert.match(log, /==> step 1\/1: echo file-step\n/);
  });

  it('a file that leaves the ref out: the container made meanwhile is removed', async () => {
    const { executor, done } = await build({ '.autobuilder.yaml': 'branches: [release]\n' });
    assert.equal(done.state, 'cancelled', done.reason ?? '');
    assert.equal(executor.created.length, 1);
    await waitFor(() => executor.destroyed.includes(executor.created[0]!.id));
  });

  it('a rule with caches waits for the file: a ref the file leaves out makes no cache volume', async () => {
    const executor = new CountingExecutor();
    const h = await startHarness({
      executor,
      repositories: { 'acme/app': fakeRule(['true'], { cache: ['/c'] }) },
    });
    harnesses.push(h);
    const sha = new LocalRepo(h.gitRoot, 'acme/app').commit('feature', {
      a: '1',
      '.autobuilder.yaml': 'branches: [release]\n',
    });
    const done = await waitForFinal(h, (await enqueuePush(h, 'acme/app', 'feature', sha)).id);
    assert.equal(done.state, 'cancelled', done.reason ?? '');
    assert.deepEqual(executor.volumesMade, []);
    assert.deepEqual(executor.created, []);
  });
});
