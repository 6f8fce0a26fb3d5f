/**
 * Cancel and timeout end a build in every phase, also one stuck in a call that never answers
 * (engine, git, copy); what the stuck phase makes later is still cleaned up.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ContainerHandle, ContainerSpec } from '../../src/executor/executor.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
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

type Phase = 'start' | 'commit';

/** A fake engine whose `phase` call hangs until released. */
class StallingExecutor extends FakeExecutor {
  stalled = false;
  readonly started: string[] = [];
  readonly destroyed: string[] = [];
  private release: (() => void) | null = null;

  constructor(private readonly phase: Phase) {
    super();
  }

  private stall(): Promise<void> {
    this.stalled = true;
    return new Promise((resolve) => (this.release = resolve));
  }

  answer(): void {
    this.release?.();
  }

  override async create(spec: ContainerSpec): Promise<ContainerHandle> {
    if (this.phase === 'start') await this.stall();
    const handle = await super.create(spec);
    this.started.push(handle.id);
    return handle;
  }

  override async destroy(handle: ContainerHandle | string): Promise<void> {
    this.destroyed.push(typeof handle === 'string' ? handle : handle.id);
    return super.destroy(handle);
  }

  override async commit(handle: ContainerHandle, image: string) {
    if (this.phase === 'commit') await this.stall();
    return super.commit(handle, image);
  }
}

const rule = fakeRule(['true']);

describe('abort in every phase', () => {
  const harnesses: Harness[] = [];
  after(() => closeHarnesses(harnesses));

  async function setup(phase: Phase, extra: Record<string, unknown> = {}) {
    const executor = new StallingExecutor(phase);
    const h = await startHarness({ executor, repositories: { 'acme/app': { ...rule, ...extra } } });
    harnesses.push(h);
    const sha = new LocalRepo(h.gitRoot, 'acme/app').commit('master', { a: '1' });
    const build = await enqueuePush(h, 'acme/app', 'master', sha);
    await waitFor(() => executor.stalled);
    return { h, executor, build };
  }

  it('cancel answers while the container start hangs; the late container is removed', async () => {
    const { h, executor, build } = await setup('start');
    const cancelled = await h.service.scheduler.cancel(build.id);
    assert.equal(cancelled?.state, 'cancelled');
    executor.answer();
    await waitFor(() => executor.started.length === 1 && executor.destroyed.includes(executor.started[0]!));
    assert.equal(executor.containers.size, 0, 'the container made after the cancel is gone');
  });

  it('the timeout fails a build whose commit hangs', async () => {
    const { h, build } = await setup('commit', { commit: 'acme/app:{branch}', timeout: '1s' });
    const done = await waitForFinal(h, build.id, 10_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.reason, 'timeout after 1s');
  });
});
