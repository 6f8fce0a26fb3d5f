/**
 * Boot test: wall time of the service's boot stage (bootTest: staging the initrd, the unprivileged
 * sandboxed QEMU with read-only descriptors, console into the build log, stop at the marker)
 * against a bare `qemu-system-x86_64 -nographic` run of the same kernel and initramfs, timed to
 * the same marker line, in the same run. Both use TCG.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findQemu } from '../src/boot/find-qemu.js';
import type { Executor } from '../src/executor/executor.js';
import { BuildLog } from '../src/live/build-log.js';
import { EventBus } from '../src/live/event-bus.js';
import { bootTest } from '../src/pipeline/boot-test.js';
import { makeBuild } from '../test/helpers/build-fixture.js';
import { BOOTING_INIT, busyboxInitramfs, debianKernel, MARKER } from '../test/helpers/initramfs.js';
import { fail, figure, percentile } from './report.js';
import type { BuildRule } from '../src/domain/rule.js';

const RUNS = Number(process.env.BENCH_RUNS_BOOT ?? 3);

/** Time to the marker on a bare QEMU's console; QEMU killed right then, as the service does. */
function bareBoot(qemu: string, kernel: string, initrd: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      qemu,
      [
        ...['-accel', 'tcg', '-m', '512M', '-nographic', '-no-reboot', '-nic', 'none'],
        ...['-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0'],
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let seen = '';
    let at: number | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (at === null && seen.includes(MARKER)) {
        at = performance.now() - started;
        child.kill('SIGKILL');
      }
    });
    child.on('close', () =>
      at === null ? reject(new Error('bare QEMU ended without the marker')) : resolve(at),
    );
  });
}

export async function benchBootTest(): Promise<string[]> {
  const qemu = findQemu() ?? fail('qemu-system-x86_64 is not installed (see .ci/run)');
  const dir = mkdtempSync(join(tmpdir(), 'ab-bench-boot-'));
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  writeFileSync(kernel, debianKernel());
  writeFileSync(initrd, busyboxInitramfs(BOOTING_INIT));
  // Stands in for the engine's archive copy of the initrd: this measures the boot, not Docker.
  const executor = {
    async copyFileOut(_handle: unknown, _path: string, destination: string) {
      copyFileSync(initrd, destination);
      return { bytes: statSync(destination).size };
    },
  } as unknown as Executor;
  const rule = {
    repository: 'bench/boot',
    artifact: '/target/vmlinuz.efi',
    artifactMaxBytes: 1024 ** 3,
    boot: {
      marker: MARKER,
      timeoutMs: 120_000,
      memoryBytes: 512 * 1024 ** 2,
      append: '',
      initrd: '/target/initrd.img',
      accel: 'tcg',
    },
  } as unknown as BuildRule;
  const service: number[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < RUNS; i += 1) {
      bare.push(await bareBoot(qemu, kernel, initrd));
      const staging = mkdtempSync(join(dir, 'build-'));
      const staged = join(staging, 'artifact');
      copyFileSync(kernel, staged);
      const log = new BuildLog(join(dir, `build-${i}.log`), i + 1, new EventBus());
      const started = performance.now();
      await bootTest(
        { executor, instance: 'bench' },
        {
          build: makeBuild({ id: i + 1 }),
          rule,
          log,
          signal: new AbortController().signal,
          onSteps: () => undefined,
        },
        { id: 'none' } as never,
        staged,
      );
      service.push(performance.now() - started);
      log.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    figure(
      'boot test median (staged kernel → marker, QEMU gone)',
      percentile(service, 50) / 1000,
      's',
      percentile(bare, 50) / 1000,
    ),
    figure('boot test max', Math.max(...service) / 1000, 's', Math.max(...bare) / 1000),
  ];
}
