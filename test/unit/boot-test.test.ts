/** The boot test's pure parts: config, QEMU command line, our processes, how outcomes are shown. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { qemuProblem } from '../../src/boot/find-qemu.js';
import { kernelCommandLine, ourQemuBuild, qemuArgs, qemuName, SANDBOX } from '../../src/boot/qemu-command.js';
import { loadConfig } from '../../src/config/load-config.js';
import { bootLabel } from '../../src/domain/boot-label.js';
import { AppError } from '../../src/errors.js';
import { statusDescription } from '../../src/forge/github/commit-status.js';
import { Metrics } from '../../src/metrics.js';
import { failureReason } from '../../src/pipeline/boot-test.js';
import { makeBuild } from '../helpers/build-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-boot-config-'));
const rule = { image: 'x', checkout: '/src', steps: ['true'], publish: 'k.efi' };
function load(repositories: Record<string, unknown>) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ repositories }));
  return loadConfig({ file, env: {} });
}
function problems(repositories: Record<string, unknown>): string[] {
  try {
    load(repositories);
  } catch (error) {
    return ((error as AppError).details as { path: string; message: string }[]).map(
      (p) => `${p.path}: ${p.message}`,
    );
  }
  return [];
}

describe('boot: in the config', () => {
  it('is off unless a rule has it, also in the built-in Zero-OS rules', () => {
    for (const r of loadConfig({ env: {}, cwd: dir }).rules.values()) assert.equal(r.boot, undefined);
    assert.equal(load({ 'a/b': rule }).rules.get('a/b')!.boot, undefined);
  });

  it('has defaults: 3m, 1g, console=ttyS0, TCG, no initrd', () => {
    const boot = load({ 'a/b': { ...rule, boot: { marker: 'up' } } }).rules.get('a/b')!.boot;
    assert.deepEqual(boot, {
      marker: 'up',
      timeoutMs: 180_000,
      memoryBytes: 1024 ** 3,
      append: 'console=ttyS0',
      initrd: undefined,
      accel: 'tcg',
    });
  });

  it('refuses what cannot work, each with its path', () => {
    assert.deepEqual(
      problems({
        'a/b': {
          ...rule,
          boot: { marker: 'a\nb', timeout: 'soon', memory: '1m', initrd: '/etc/shadow', accel: 'hvf' },
        },
        'a/c': { image: 'x', checkout: '/src', steps: ['true'], boot: { marker: 'up' } },
        'a/d': { ...rule, boot: { timeout: '1m' } },
      }).sort(),
      [
        'repositories.a/b.boot.accel: one of tcg, kvm, auto',
        "repositories.a/b.boot.initrd: must be a file under /target (the build container's output directory)",
        'repositories.a/b.boot.marker: one line: a console line contains it',
        'repositories.a/b.boot.memory: at least 64m (a kernel and its initramfs must fit)',
        'repositories.a/b.boot.timeout: not a duration: "soon" (use 90s, 45m, 2h)',
        'repositories.a/c.boot: "boot" needs "publish" (it boots the published kernel)',
        'repositories.a/d.boot.marker: required: text of a console line printed once the kernel is up',
      ],
    );
  });
});

describe('the QEMU command line', () => {
  it('always has the serial console on the kernel command line, once', () => {
    for (const [append, expected] of [
      ['', 'console=ttyS0'],
      ['quiet panic=-1', 'console=ttyS0 quiet panic=-1'],
      ['  quiet   console=ttyS0 ', 'quiet console=ttyS0'],
      ['console=tty0', 'console=ttyS0 console=tty0'],
    ] as const) {
      assert.equal(kernelCommandLine(append), expected, append);
    }
  });

  it('attaches the kernel (and initrd) read-only through descriptors, nothing else, sandboxed', () => {
    const args = qemuArgs({
      accel: 'tcg',
      memoryBytes: 512 * 1024 ** 2,
      append: 'quiet',
      withInitrd: true,
      name: qemuName('inst-1', 7),
    });
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    assert.equal(value('-name'), 'autobuilder-inst-1-build-7');
    assert.equal(value('-accel'), 'tcg');
    assert.equal(value('-m'), '512M');
    assert.equal(value('-nic'), 'none');
    assert.equal(value('-sandbox'), SANDBOX);
    assert.equal(SANDBOX, 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
    assert.equal(value('-kernel'), '/dev/fd/3');
    assert.equal(value('-initrd'), '/dev/fd/4');
    assert.equal(value('-append'), 'console=ttyS0 quiet');
    for (const flag of ['-nodefaults', '-no-user-config', '-no-reboot']) assert.ok(args.includes(flag), flag);
    for (const flag of ['-drive', '-hda', '-netdev', '-device', '-runas'])
      assert.ok(!args.includes(flag), flag);
    const bare = qemuArgs({ accel: 'kvm', memoryBytes: 1024 ** 3, append: '', withInitrd: false, name: 'n' });
    assert.ok(!bare.includes('-initrd'));
    assert.equal(bare[bare.indexOf('-m') + 1], '1024M');
  });

  it('tells our QEMU processes from others by instance and name', () => {
    const ours = ['/usr/bin/qemu-system-x86_64', '-name', 'autobuilder-inst-1-build-42', '-accel', 'tcg'];
    assert.equal(ourQemuBuild(ours, 'inst-1'), 42);
    assert.equal(ourQemuBuild(ours, 'inst-2'), null, 'another service instance');
    assert.equal(ourQemuBuild(['/usr/bin/qemu-system-x86_64', '-name', 'my-vm'], 'inst-1'), null);
    assert.equal(ourQemuBuild(['/usr/bin/sleep', '-name', 'autobuilder-inst-1-build-42'], 'inst-1'), null);
    assert.equal(ourQemuBuild(['/usr/bin/qemu-system-x86_64'], 'inst-1'), null);
  });
});

describe('a missing QEMU', () => {
  it('is a problem only when a rule has a boot test', () => {
    const config = load({ 'a/b': { ...rule, boot: { marker: 'up' } }, 'a/c': rule });
    assert.match(
      qemuProblem(config.rules.values(), null)!,
      /^a\/b has a boot test, which needs qemu-system-x86_64, and it is not installed/,
    );
    assert.equal(qemuProblem(config.rules.values(), '/usr/bin/qemu-system-x86_64'), null);
    assert.equal(qemuProblem(load({ 'a/c': rule }).rules.values(), null), null);
  });
});

describe('the failure reason', () => {
  const boot = {
    marker: 'up',
    timeoutMs: 180_000,
    memoryBytes: 1024 ** 3,
    append: '',
    accel: 'tcg' as const,
  };
  const run = { seconds: 180, exitCode: null, sawConsole: true };
  it('names the marker and the timeout and carries the console tail, each line cut at 200 characters', () => {
    const reason = failureReason(boot, { ...run, end: 'timeout', tail: ['Booting', 'x'.repeat(5000)] });
    assert.equal(reason, `boot test: no \`up\` within 3m; last console lines:\nBooting\n${'x'.repeat(200)}…`);
  });
  it('says when QEMU ended first, and when the console stayed empty', () => {
    const exited = failureReason(boot, { ...run, end: 'exited', exitCode: 0, seconds: 2.04, tail: [] });
    assert.equal(
      exited,
      'boot test: no `up` within 3m (QEMU exited with code 0 after 2.0 s); the console stayed empty',
    );
  });
});

describe('how a boot test is shown', () => {
  it('in lists and pages', () => {
    assert.equal(bootLabel({ ok: true, seconds: 7.3 }), 'boots ✓ 7.3 s');
    assert.equal(bootLabel({ ok: false, seconds: 180 }), 'boot failed');
    assert.equal(bootLabel(null), '');
  });

  it('in the GitHub commit status', () => {
    const booted = makeBuild({ state: 'success', artifact: 'k.efi', boot: { ok: true, seconds: 7.3 } });
    assert.equal(statusDescription(booted), 'built k.efi, boots (7.3 s)');
    const failed = makeBuild({
      state: 'failed',
      reason: 'boot test: no `up` within 3m; last console lines:\nKernel panic',
      boot: { ok: false, seconds: 180 },
    });
    assert.equal(statusDescription(failed), 'failed: kernel did not boot (boot test: no `up` within 3m)');
    assert.equal(statusDescription(makeBuild({ state: 'success', artifact: 'k.efi' })), 'built k.efi');
  });

  it('in /metrics as autobuilder_boot_seconds', async () => {
    const metrics = new Metrics(async () => ({ queued: 0, running: 0 }));
    const times = { startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:01:00Z' };
    metrics.observe(makeBuild({ state: 'success', boot: { ok: true, seconds: 7.3 }, ...times }));
    metrics.observe(makeBuild({ state: 'failed', boot: { ok: false, seconds: 180 }, ...times }));
    metrics.observe(makeBuild({ state: 'success', ...times }));
    const text = await metrics.registry.metrics();
    assert.match(text, /autobuilder_boot_seconds_count\{repository="acme\/os",outcome="booted"\} 1\n/);
    assert.match(text, /autobuilder_boot_seconds_sum\{repository="acme\/os",outcome="failed"\} 180\n/);
  });
});
