/**
 * The commit point (src/pipeline/commit-point.ts): a build stopped or failing at its end never
 * moves the image tag incremental builds start from, and a kernel that is out stays on record.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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

const FULL = fakeRule(['echo kernel-$AUTOBUILD_COMMIT > /target/vmlinuz.efi'], {
  commit: 'acme/full:{branch}',
  publish: 'full-{branch}-{short}.efi',
  link: 'full-{branch}.efi',
});

/** Fails the move of the image tag, as an engine that goes away at that moment would. */
class FailingRetag extends FakeExecutor {
  override async retag(): Promise<{ replaced: string | null }> {
    throw new Error('engine went away');
  }
}

describe('the commit point', () => {
  const harnesses: Harness[] = [];
  after(() => closeHarnesses(harnesses));
  const setup = async (executor: FakeExecutor) => {
    const h = await startHarness({ executor, repositories: { 'acme/full': FULL } });
    harnesses.push(h);
    return { h, repo: new LocalRepo(h.gitRoot, 'acme/full') };
  };

  it('a build cancelled while its image is committed moves no tag, even when the commit lands later', async () => {
    const executor = new FakeExecutor();
    const { h, repo } = await setup(executor);
    const good = await waitForFinal(
      h,
      (await enqueuePush(h, 'acme/full', 'master', repo.commit('master', { a: '1' }))).id,
    );
    assert.equal(good.state, 'success');
    const goodImage = executor.images.get('acme/full:master');
    assert.ok(goodImage);
    const link = join(h.config.kernelTarget, 'full-master.efi');
    const goodKernel = readlinkSync(link);

    executor.commitDelayMs = 300;
    const late = await enqueuePush(h, 'acme/full', 'master', repo.commit('master', { a: '2' }));
    await waitFor(() => executor.commitStarted.length === 2); // the second build is committing
    const cancelled = await h.service.scheduler.cancel(late.id);
    assert.equal(cancelled?.state, 'cancelled');
    // The engine finishes the commit after the build stopped: it lands under its pending name only.
    await Promise.all(executor.commitsLanded);
    assert.match(executor.commitStarted[1]!, /^autobuilder-pending\//);
    assert.equal(executor.images.get('acme/full:master'), goodImage, 'the tag still names the good image');
    assert.equal(readlinkSync(link), goodKernel, 'the link still names the good kernel');
    assert.equal((await h.service.store.getBuild(late.id))?.artifact, null);
  });

  it('a build whose image tag cannot be moved fails, and keeps the kernel it published on record', async () => {
    const executor = new FailingRetag();
    const { h, repo } = await setup(executor);
    const sha = repo.commit('master', { a: '1' });
    const build = await waitForFinal(h, (await enqueuePush(h, 'acme/full', 'master', sha)).id);
    assert.equal(build.state, 'failed');
    assert.match(
      build.reason ?? '',
      /^build engine error: moving acme\/full:master failed: engine went away/,
    );
    const name = `full-master-${sha.slice(0, 8)}.efi`;
    assert.equal(build.artifact, name, 'the kernel is out, so the record says so');
    assert.equal(readFileSync(join(h.config.kernelTarget, name), 'utf8'), `kernel-${sha}\n`);
    assert.equal(executor.images.has('acme/full:master'), false, 'no tag moved');
    assert.deepEqual(
      [...executor.images.keys()].filter((n) => n.startsWith('autobuilder-pending/')),
      [],
      'the pending image is removed',
    );
    assert.ok(existsSync(join(h.config.kernelTarget, 'full-master.efi')));
  });
});
