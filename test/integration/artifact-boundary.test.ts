/**
 * Issue 11, item 1, on the real engine through the real pipeline: whatever a build leaves at its
 * artifact path, the service reads only the container's own regular file, through the engine,
 * within `artifact_max_size`, and publishes it as 0644. Nothing of the host is ever read.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal, type Harness } from '../helpers/harness.js';

const INSTANCE = `artifact-boundary-${process.pid}`;
const LEFTOVERS = ['.zero-os-master.efi.0123456789ab.tmp', '.zero-os-master.efi.a1b2c3d4e5f6.tmp'];
const NOT_OURS = ['notes.tmp', '.keep.tmp', '.x.0123456789ab.tmp.bak', 'zero-os-old.efi'];

/** A rule publishing `/target/vmlinuz.efi` (or `artifact`) as `<name>-{short}.efi`, linked as `<name>.efi`. */
const rule = (name: string, extra: Record<string, unknown> = {}) => ({
  image: TEST_IMAGE,
  checkout: '/src',
  network: 'none',
  steps: ['sh /src/step.sh'],
  publish: `${name}-{short}.efi`,
  link: `${name}.efi`,
  timeout: '60s',
  ...extra,
});

describe('Build boundary: artifacts leave through the engine', () => {
  let docker: Docker;
  let h: Harness;
  let commits = 0;
  const repos = new Map<string, LocalRepo>();

  before(async () => {
    docker = await requireDocker();
    // A home with leftovers of a kill -9 mid-publish, before the service starts.
    const home = mkdtempSync(join(tmpdir(), 'ab-home-'));
    mkdirSync(join(home, 'kernels'), { recursive: true });
    for (const name of [...LEFTOVERS, ...NOT_OURS]) writeFileSync(join(home, 'kernels', name), 'partial');
    mkdirSync(join(home, 'kernels', '.dir.0123456789ab.tmp'));
    h = await startHarness({
      home,
      executor: new DockerExecutor(docker, INSTANCE),
      repositories: {
        'acme/shadow': rule('shadow'),
        'acme/dirlink': rule('dirlink', { artifact: '/target/d/passwd' }),
        'acme/fifo': rule('fifo'),
        'acme/device': rule('device'),
        'acme/empty': rule('empty'),
        'acme/big': rule('big', { artifact_max_size: '1k' }),
        'acme/setuid': rule('setuid'),
      },
    });
    await h.listen();
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
  });

  /** Pushes `step.sh` to `repository` and waits for the build to end. */
  async function build(repository: string, script: string): Promise<{ build: Build; short: string }> {
    const repo = repos.get(repository) ?? new LocalRepo(h.gitRoot, repository);
    repos.set(repository, repo);
    const sha = repo.commit('master', { 'step.sh': `set -e\n${script}\n`, n: String(++commits) });
    const queued = await enqueuePush(h, repository, 'master', sha);
    return { build: await waitForFinal(h, queued.id, 120_000), short: sha.slice(0, 8) };
  }

  const kernels = () => readdirSync(h.config.kernelTarget);
  const log = (b: Build) => (b.logPath ? readFileSync(b.logPath, 'utf8') : '');

  function assertNothingStaged() {
    assert.deepEqual(readdirSync(h.config.tmpDirectory), [], 'no staging file or temp dir is left');
  }

  it('removes stale temporary kernel copies at start, and only those', () => {
    const names = kernels();
    for (const name of LEFTOVERS) assert.ok(!names.includes(name), `${name} removed`);
    for (const name of [...NOT_OURS, '.dir.0123456789ab.tmp'])
      assert.ok(names.includes(name), `${name} kept`);
  });

  it('a symlink to a host file fails the build; the host file is never copied', async () => {
    const { build: b } = await build('acme/shadow', 'ln -s /etc/shadow /target/vmlinuz.efi');
    assert.equal(b.state, 'failed', log(b));
    assert.equal(b.reason, 'artifact /target/vmlinuz.efi is a symbolic link, not a regular file');
    assert.equal(b.artifact, null);
    assert.deepEqual(
      kernels().filter((n) => n.startsWith('shadow')),
      [],
      'nothing published',
    );
    const shadow = readFileSync('/etc/shadow');
    for (const name of kernels()) {
      const path = join(h.config.kernelTarget, name);
      if (statSync(path).isFile()) assert.notDeepEqual(readFileSync(path), shadow);
    }
    assertNothingStaged();
  });

  it("a symlinked directory in the artifact path leads to the container's own file, never the host's", async () => {
    // Decision: the engine follows `/target/d -> /etc` inside the container's root, so what is
    // published is the file the build wrote in its own /etc: the build's output, nothing of ours.
    const { build: b, short } = await build(
      'acme/dirlink',
      'ln -s /etc /target/d\necho container-own-passwd > /etc/passwd',
    );
    assert.equal(b.state, 'success', `${b.reason}\n${log(b)}`);
    const published = readFileSync(join(h.config.kernelTarget, `dirlink-${short}.efi`), 'utf8');
    assert.equal(published, 'container-own-passwd\n');
    assert.notEqual(published, readFileSync('/etc/passwd', 'utf8'));
    assertNothingStaged();
  });

  it('a FIFO fails the build at once; the service stays responsive and builds on', async () => {
    const { build: b } = await build('acme/fifo', 'mkfifo /target/vmlinuz.efi');
    assert.equal(b.state, 'failed');
    assert.equal(b.reason, 'artifact /target/vmlinuz.efi is a FIFO, not a regular file');
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${h.url}/kernels/fifo.efi`)).status, 404);
    const { build: next, short } = await build('acme/fifo', 'echo kernel > /target/vmlinuz.efi');
    assert.equal(next.state, 'success', next.reason ?? '');
    assert.equal(await (await fetch(`${h.url}/kernels/fifo-${short}.efi`)).text(), 'kernel\n');
    assertNothingStaged();
  });

  it('a device node fails the build and the link is not moved', async () => {
    const { build: good, short } = await build('acme/device', 'echo good > /target/vmlinuz.efi');
    assert.equal(good.state, 'success', good.reason ?? '');
    const { build: b } = await build('acme/device', 'mknod /target/vmlinuz.efi c 1 3');
    assert.equal(b.state, 'failed', log(b));
    assert.equal(b.reason, 'artifact /target/vmlinuz.efi is a device node, not a regular file');
    assert.equal(readlinkSync(join(h.config.kernelTarget, 'device.efi')), `device-${short}.efi`);
    assert.equal(readFileSync(join(h.config.kernelTarget, 'device.efi'), 'utf8'), 'good\n');
    assertNothingStaged();
  });

  it('an empty artifact fails the build', async () => {
    const { build: b } = await build('acme/empty', ': > /target/vmlinuz.efi');
    assert.equal(b.state, 'failed');
    assert.equal(b.reason, 'artifact /target/vmlinuz.efi is empty');
    assert.deepEqual(
      kernels().filter((n) => n.startsWith('empty')),
      [],
    );
    assertNothingStaged();
  });

  it('an artifact over artifact_max_size fails the build and leaves no staging file', async () => {
    const { build: b } = await build('acme/big', 'head -c 4096 /dev/zero > /target/vmlinuz.efi');
    assert.equal(b.state, 'failed');
    assert.equal(b.reason, 'artifact /target/vmlinuz.efi is larger than artifact_max_size (1 KiB)');
    assert.deepEqual(
      kernels().filter((n) => n.startsWith('big')),
      [],
    );
    assertNothingStaged();
    const { build: fits } = await build('acme/big', 'head -c 1024 /dev/zero > /target/vmlinuz.efi');
    assert.equal(fits.state, 'success', 'exactly the limit is accepted');
  });

  it('a setuid, world-writable artifact is published as 0644', async () => {
    const { build: b, short } = await build(
      'acme/setuid',
      'echo kernel > /target/vmlinuz.efi\nchmod 4777 /target/vmlinuz.efi',
    );
    assert.equal(b.state, 'success', b.reason ?? '');
    assert.equal(statSync(join(h.config.kernelTarget, `setuid-${short}.efi`)).mode & 0o7777, 0o644);
  });

  it('leaves no container of this service behind', async () => {
    assert.deepEqual(await h.service.executor.listManaged(), []);
  });
});
