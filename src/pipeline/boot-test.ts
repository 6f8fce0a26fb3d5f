/**
 * The boot test (rule key `boot:`): the staged kernel, exactly the file that would be published,
 * is booted under QEMU on the service host before anything is published or any link or image tag
 * moves. Its console is its own section of the build log. The marker seen: the build goes on.
 * Not seen: the build fails with the console's last lines in the reason.
 *
 * `accel: auto` tries KVM first, bounded: a KVM that prints nothing within KVM_PROBE_MS (as
 * measured on hosts where `/dev/kvm` exists but hangs) or that cannot start is given up for the
 * rest of the process, and the boot runs again under TCG with the whole timeout.
 */
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findQemu, MISSING_QEMU_REASON } from '../boot/find-qemu.js';
import { qemuArgs, qemuName } from '../boot/qemu-command.js';
import { runQemu, type QemuRunResult } from '../boot/run-qemu.js';
import { qemuUser } from '../boot/unprivileged-user.js';
import type { BootResult } from '../domain/build.js';
import { formatBytes } from '../domain/limits.js';
import { formatDuration } from '../domain/duration.js';
import type { BootRule } from '../domain/rule.js';
import type { ContainerHandle, Executor } from '../executor/executor.js';
import type { BuildLog } from '../live/build-log.js';
import { BuildFailure } from './build-failure.js';
import { stageArtifact } from './stage-artifact.js';
import { throwIfAborted } from './until-aborted.js';
import type { RunContext } from './pipeline.js';

export const KVM_PROBE_MS = 20_000;
/** Whether KVM answered a probe in this process: null until one ran. */
let kvmAnswers: boolean | null = null;

export interface BootTestDeps {
  executor: Executor;
  /** This service's instance id: QEMU's `-name` carries it for restart recovery. */
  instance?: string;
}

const REASON_LINE = 200;

const seconds = (value: number) => `${value.toFixed(1)} s`;

export function failureReason(boot: BootRule, run: QemuRunResult): string {
  const ended =
    run.end === 'exited' ? ` (QEMU exited with code ${run.exitCode} after ${seconds(run.seconds)})` : '';
  // The reason travels in every build event and list: lines are cut there, whole in the log.
  const lines = run.tail.map((line) => (line.length > REASON_LINE ? `${line.slice(0, REASON_LINE)}…` : line));
  const tail = lines.length ? `; last console lines:\n${lines.join('\n')}` : '; the console stayed empty';
  return `boot test: no \`${boot.marker}\` within ${formatDuration(boot.timeoutMs)}${ended}${tail}`;
}

/** Boots `kernel` (a staged file) as the rule says; throws BuildFailure when it does not boot. */
export async function bootTest(
  deps: BootTestDeps,
  ctx: RunContext,
  handle: ContainerHandle,
  kernel: string,
): Promise<void> {
  const { build, rule, log, signal } = ctx;
  const boot = rule.boot;
  if (!boot) return;
  const qemu = findQemu();
  if (!qemu) throw new BuildFailure(MISSING_QEMU_REASON);
  let initrd: string | undefined;
  if (boot.initrd) {
    initrd = join(dirname(kernel), 'initrd');
    const bytes = await stageArtifact(
      deps.executor,
      handle,
      { ...rule, artifact: boot.initrd },
      initrd,
      signal,
    );
    log.line(`==> initrd ${boot.initrd}: ${bytes} bytes`);
  }
  // Read-only on disk as well as through the descriptors QEMU gets.
  for (const file of [kernel, initrd]) if (file) await chmod(file, 0o444);
  const run = (accel: 'tcg' | 'kvm', firstOutputMs?: number) => {
    log.line(
      `==> boot test: ${accel.toUpperCase()}, ${formatBytes(boot.memoryBytes)}, waiting up to ${formatDuration(boot.timeoutMs)} for \`${boot.marker}\``,
    );
    return runQemu({
      binary: qemu,
      args: qemuArgs({
        accel,
        memoryBytes: boot.memoryBytes,
        append: boot.append,
        withInitrd: Boolean(initrd),
        name: qemuName(deps.instance ?? 'default', build.id),
      }),
      kernel,
      initrd,
      marker: boot.marker,
      timeoutMs: boot.timeoutMs,
      signal,
      user: qemuUser(accel),
      firstOutputMs,
      onLine: (line) => log.line(`    ${line}`),
    });
  };
  let result = await chooseAndRun(boot, log, run);
  throwIfAborted(signal);
  if (result.error) result = { ...result, end: 'exited' };
  const outcome: BootResult = { ok: result.end === 'marker', seconds: Math.round(result.seconds * 10) / 10 };
  ctx.onBoot?.(outcome);
  if (result.error) throw new BuildFailure(`boot test: QEMU could not start: ${result.error}`);
  if (!outcome.ok) {
    log.line(`==> boot test: failed after ${seconds(result.seconds)}`);
    throw new BuildFailure(failureReason(boot, result));
  }
  log.line(`==> boot test: \`${boot.marker}\` after ${seconds(result.seconds)}`);
}

async function chooseAndRun(
  boot: BootRule,
  log: BuildLog,
  run: (accel: 'tcg' | 'kvm', firstOutputMs?: number) => Promise<QemuRunResult>,
): Promise<QemuRunResult> {
  if (boot.accel !== 'auto') return run(boot.accel);
  if (kvmAnswers !== false && existsSync('/dev/kvm')) {
    const probe = await run('kvm', kvmAnswers ? undefined : KVM_PROBE_MS);
    // A cancel says nothing about KVM.
    if (probe.end === 'aborted') return probe;
    // Silent: hung (no byte within the probe), or QEMU could not use KVM and exited saying so.
    const silent = probe.end === 'silent' || (probe.end === 'exited' && !probe.sawConsole);
    if (!silent) {
      kvmAnswers = true;
      return probe;
    }
    kvmAnswers = false;
    log.line(`==> boot test: KVM gave no console within ${seconds(KVM_PROBE_MS / 1000)}; TCG from now on`);
  }
  return run('tcg');
}
