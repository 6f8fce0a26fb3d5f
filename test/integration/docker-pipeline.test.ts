/**
 * End to end on a real Docker engine, through signed webhooks over loopback HTTP: a full build
 * publishes a kernel and commits its image; an incremental build starts from that image.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { serviceInstance } from '../../src/config/service-instance.js';
import { ourContainers, removeImages, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { pushAndWait } from '../helpers/push-and-wait.js';

const SECRET = 'e2e-secret';
const IMAGE_REPO = 'autobuilder-e2e/initramfs';
const BUILD_SCRIPT = [
  'set -e',
  'echo "full build of $1 at $AUTOBUILD_COMMIT"',
  'mkdir -p /opt/zero-os && echo "state-from-$1" > /opt/zero-os/state',
  'echo "kernel $AUTOBUILD_REPOSITORY $AUTOBUILD_COMMIT" > /target/vmlinuz.efi',
].join('\n');
const CORE_SCRIPT = [
  'set -e',
  'echo "core0 on top of: $(cat /opt/zero-os/state)"',
  'cat /opt/zero-os/state /core0/VERSION > /target/vmlinuz.efi',
].join('\n');

const component = (name: string) => ({
  base: 'zero-os/initramfs',
  checkout: `/${name}`,
  steps: [`sh /initramfs/autobuild/build-core.sh "$AUTOBUILD_BRANCH"`],
  network: 'none',
  publish: `zero-os-{branch}-{name}-{short}.efi`,
  link: 'zero-os-{branch}.efi',
});

describe('Docker pipeline end to end', () => {
  let docker: Docker;
  let h: Harness;
  let initramfs: LocalRepo;
  let core0: LocalRepo;
  let delivery = 0;

  before(async () => {
    docker = await requireDocker();
    await removeImages(docker, IMAGE_REPO);
    h = await startHarness({
      token: SECRET,
      executor: new DockerExecutor(docker),
      repositories: {
        'zero-os/initramfs': {
          image: TEST_IMAGE,
          checkout: '/initramfs',
          steps: ['echo preparing', 'sh /initramfs/autobuild/build.sh "$AUTOBUILD_BRANCH"'],
          network: 'none',
          commit: `${IMAGE_REPO}:{branch}`,
          publish: 'zero-os-{branch}-generic-{short}.efi',
          link: 'zero-os-{branch}-generic.efi',
        },
        'zero-os/core0': component('core0'),
        'acme/steps': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          publish: 'steps-{branch}.efi',
          steps: ['echo "$AUTOBUILD_BRANCH" > /target/vmlinuz.efi; test ! -e /tmp/pwned', 'sh /src/step.sh'],
        },
        'acme/emptybase': {
          image: TEST_IMAGE,
          checkout: '/src',
          steps: ['true'],
          network: 'none',
          commit: 'autobuilder-e2e/never:{branch}',
        },
        'acme/orphan': { base: 'acme/emptybase', checkout: '/src', steps: ['true'], network: 'none' },
      },
    });
    await h.listen();
    initramfs = new LocalRepo(h.gitRoot, 'zero-os/initramfs');
    core0 = new LocalRepo(h.gitRoot, 'zero-os/core0');
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
    if (docker) await removeImages(docker, IMAGE_REPO);
  });

  const push = (repository: string, branch: string, commit: string): Promise<Build> =>
    pushAndWait(
      h,
      { repository, branch, commit },
      { secret: SECRET, project: 'e2e', delivery: `e2e-${++delivery}` },
    );

  function assertClean() {
    // This service's containers: other suites may share the engine.
    assert.deepEqual(ourContainers(serviceInstance(h.config)), [], 'no container of ours is left');
    assert.deepEqual(readdirSync(h.config.tmpDirectory), [], 'no temp dir is left');
  }

  const kernel = (name: string) => readFileSync(join(h.config.kernelTarget, name), 'utf8');

  it('a push to initramfs publishes its kernel and commits the image of its branch', async () => {
    const sha = initramfs.commit('master', {
      'autobuild/build.sh': BUILD_SCRIPT,
      'autobuild/build-core.sh': CORE_SCRIPT,
    });
    const build = await push('zero-os/initramfs', 'master', sha);
    assert.equal(build.state, 'success', `${build.reason}\n${readFileSync(build.logPath!, 'utf8')}`);
    const name = `zero-os-master-generic-${sha.slice(0, 8)}.efi`;
    assert.equal(build.artifact, name);
    assert.equal(kernel(name), `kernel zero-os/initramfs ${sha}\n`);
    assert.equal(readlinkSync(join(h.config.kernelTarget, 'zero-os-master-generic.efi')), name);
    assert.equal(build.image, `${IMAGE_REPO}:master`);
    await docker.getImage(`${IMAGE_REPO}:master`).inspect();
    const log = readFileSync(build.logPath!, 'utf8');
    assert.match(log, /^full build of master at [0-9a-f]{40}$/m);
    assert.match(log, /==> step 2\/2: sh \/initramfs\/autobuild\/build.sh/);
    const api = await (await fetch(`${h.url}/build/logs/zero-os/initramfs/master`)).text();
    assert.equal(api, log);
    assertClean();
  });

  it('a push to core0 builds on that image, and a new branch falls back to master', async () => {
    const sha = core0.commit('master', { VERSION: 'core0-v1\n' });
    const build = await push('zero-os/core0', 'master', sha);
    assert.equal(build.state, 'success', `${build.reason}\n${readFileSync(build.logPath!, 'utf8')}`);
    assert.match(readFileSync(build.logPath!, 'utf8'), /^core0 on top of: state-from-master$/m);
    const name = `zero-os-master-core0-${sha.slice(0, 8)}.efi`;
    assert.equal(kernel(name), 'state-from-master\ncore0-v1\n');
    assert.equal(readlinkSync(join(h.config.kernelTarget, 'zero-os-master.efi')), name);

    const branchSha = core0.commit('feature/y', { VERSION: 'core0-y\n' });
    const branchBuild = await push('zero-os/core0', 'feature/y', branchSha);
    assert.equal(branchBuild.state, 'success', branchBuild.reason ?? '');
    assert.match(readFileSync(branchBuild.logPath!, 'utf8'), new RegExp(`==> image ${IMAGE_REPO}:master`));
    assert.equal(
      readlinkSync(join(h.config.kernelTarget, 'zero-os-feature_2fy.efi')),
      `zero-os-feature_2fy-core0-${branchSha.slice(0, 8)}.efi`,
    );
    assertClean();
  });

  it('a new full build re-commits the tag and removes the image it replaced', async () => {
    const before = (await docker.getImage(`${IMAGE_REPO}:master`).inspect()).Id;
    const sha = initramfs.commit('master', { NEWS: 'second\n' });
    const build = await push('zero-os/initramfs', 'master', sha);
    assert.equal(build.state, 'success', build.reason ?? '');
    const now = (await docker.getImage(`${IMAGE_REPO}:master`).inspect()).Id;
    assert.notEqual(now, before);
    await assert.rejects(docker.getImage(before).inspect(), 'the replaced image is gone');
    assert.equal(
      readlinkSync(join(h.config.kernelTarget, 'zero-os-master-generic.efi')),
      `zero-os-master-generic-${sha.slice(0, 8)}.efi`,
    );
  });

  it('fails cleanly: step exit code, missing artifact, no base image, unknown commit', async () => {
    const steps = new LocalRepo(h.gitRoot, 'acme/steps');
    const failing = await push(
      'acme/steps',
      'fail',
      steps.commit('fail', { 'step.sh': 'echo about to fail; exit 1' }),
    );
    assert.equal(failing.state, 'failed');
    assert.equal(failing.reason, 'step 2 (sh /src/step.sh) exited with code 1');
    assertClean();
    const noArtifact = await push(
      'acme/steps',
      'noart',
      steps.commit('noart', { 'step.sh': 'rm /target/vmlinuz.efi' }),
    );
    assert.equal(noArtifact.reason, 'artifact not found: /target/vmlinuz.efi');
    assertClean();
    const orphan = new LocalRepo(h.gitRoot, 'acme/orphan');
    const noBase = await push('acme/orphan', 'master', orphan.commit('master', { a: '1' }));
    assert.equal(noBase.reason, 'no base image for branch master');
    const unknown = await push('acme/steps', 'ghost', 'e'.repeat(40));
    assert.match(unknown.reason ?? '', /^commit e{40} not found in /);
    assertClean();
  });

  it('builds hostile branch names safely: no shell sees them, no file lands outside KERNEL_TARGET', async () => {
    const steps = new LocalRepo(h.gitRoot, 'acme/steps');
    const hostile = [
      '$(touch${IFS}/tmp/pwned)',
      'quote\'s"and`back`ticks',
      'ünïcødé/ブランチ',
      'semi;colon|pipe&amp',
    ];
    for (const branch of hostile) {
      const build = await push('acme/steps', branch, steps.commit(branch, { 'step.sh': 'true' }));
      assert.equal(build.state, 'success', `${branch}: ${build.reason}`);
      assert.ok(build.artifact && /^[A-Za-z0-9._-]+$/.test(build.artifact), build.artifact ?? '');
      assert.equal(kernel(build.artifact!), `${branch}\n`, 'the branch reached the step intact, as data');
    }
    assert.equal(existsSync('/tmp/pwned'), false);
    for (const entry of readdirSync(h.config.kernelTarget)) assert.match(entry, /^[A-Za-z0-9._-]+$/);
    const traversal = JSON.stringify(
      pushPayload({ repository: 'acme/steps', branch: '../../x', commit: 'a'.repeat(40) }),
    );
    const refused = await fetch(`${h.url}/build/e2e/hook`, {
      method: 'POST',
      body: traversal,
      headers: webhookHeaders(traversal, { secret: SECRET }),
    });
    assert.equal(refused.status, 400);
    assertClean();
  });
});
