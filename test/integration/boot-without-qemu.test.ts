/**
 * A host without QEMU (PATH without qemu-system-x86_64), on the real engine: `/healthz` and
 * `config check` name the rule that needs it; that rule's builds fail with the reason and publish
 * nothing; a rule without a boot test builds as usual.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MISSING_QEMU_REASON } from '../../src/boot/find-qemu.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal, type Harness } from '../helpers/harness.js';

const rule = (boot: boolean) => ({
  image: TEST_IMAGE,
  checkout: '/src',
  network: 'none',
  steps: ['echo kernel > /target/vmlinuz.efi'],
  publish: '{name}-{short}.efi',
  ...(boot ? { boot: { marker: 'ready' } } : {}),
});

describe('boot test on a host without QEMU', () => {
  let h: Harness;
  const bin = mkdtempSync(join(tmpdir(), 'ab-bin-'));
  const path = process.env.PATH;

  before(async () => {
    const docker = await requireDocker();
    // Only what the service runs besides QEMU: git (and the shell git may use).
    for (const tool of ['git', 'sh']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    assert.ok(existsSync('/usr/bin/qemu-system-x86_64'), 'QEMU is installed, and hidden from PATH here');
    process.env.PATH = bin;
    h = await startHarness({
      executor: new DockerExecutor(docker),
      repositories: { 'acme/boots': rule(true), 'acme/plain': rule(false) },
    });
    await h.listen();
  });

  after(async () => {
    process.env.PATH = path;
    await h?.close();
    if (h) removeHome(h);
    rmSync(bin, { recursive: true, force: true });
  });

  it('says so on /healthz', async () => {
    const response = await fetch(`${h.url}/healthz`);
    const body = (await response.json()) as { status: string; problems: string[] };
    // Degraded, not down: the service still serves and builds every other rule.
    assert.equal(response.status, 200);
    assert.equal(body.status, 'degraded');
    assert.ok(
      body.problems.some((p) =>
        /^acme\/boots has a boot test, which needs qemu-system-x86_64, and it is not installed/.test(p),
      ),
      JSON.stringify(body.problems),
    );
  });

  it('fails the builds that need it with the reason; others run', async () => {
    const boots = new LocalRepo(h.gitRoot, 'acme/boots');
    const plain = new LocalRepo(h.gitRoot, 'acme/plain');
    const failed = await waitForFinal(
      h,
      (await enqueuePush(h, 'acme/boots', 'master', boots.commit('master', { a: '1' }))).id,
      60_000,
    );
    assert.equal(failed.state, 'failed');
    assert.equal(failed.reason, MISSING_QEMU_REASON);
    assert.equal(failed.artifact, null);
    const built = await waitForFinal(
      h,
      (await enqueuePush(h, 'acme/plain', 'master', plain.commit('master', { a: '1' }))).id,
      60_000,
    );
    assert.equal(built.state, 'success', built.reason ?? '');
    assert.deepEqual(readdirSync(h.config.kernelTarget), [built.artifact]);
  });

  it('says so in `config check`, which exits 1', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'config', 'check', join(h.home, 'autobuilder.yaml')],
      { encoding: 'utf8', env: { ...process.env, PATH: bin } },
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /acme\/boots has a boot test, which needs qemu-system-x86_64, and it is not installed/,
    );
  });
});
