/**
 * The QEMU command line of a boot test, as a pure function. The guest gets a kernel (and an
 * initrd), memory, a serial console on stdout and nothing else: `-nodefaults` drops the default
 * VGA, NIC, floppy and CD-ROM, `-nic none` says so again for the network. The files are handed
 * over as inherited read-only descriptors (`/dev/fd/3`, `/dev/fd/4`), so QEMU, running as an
 * unprivileged user, needs no path to the service's private staging directory and can write
 * nothing back. The seccomp sandbox denies obsolete calls, privilege changes, spawning processes
 * and resource control: none of which a serial-console boot needs.
 */
import type { BootAccel } from '../domain/rule.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** `-name` values of our QEMU processes start with this; recovery looks for it in /proc. */
export const QEMU_NAME_PREFIX = 'autobuilder-';
export const SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';
/** Where QEMU finds the staged files: the descriptors `runQemu` passes as stdio 3 and 4. */
export const KERNEL_FD_PATH = '/dev/fd/3';
export const INITRD_FD_PATH = '/dev/fd/4';

export interface QemuCommand {
  accel: Exclude<BootAccel, 'auto'>;
  memoryBytes: number;
  append: string;
  withInitrd: boolean;
  /** The process's label (see qemuName). */
  name: string;
}

/** The rule's command line with `console=ttyS0` added when missing: the console is the proof. */
export function kernelCommandLine(append: string): string {
  const words = append.trim().split(/\s+/).filter(Boolean);
  if (words.includes('console=ttyS0')) return words.join(' ');
  return ['console=ttyS0', ...words].join(' ');
}

/** `autobuilder-<instance>-build-<id>`: whose build a QEMU process boots, visible in /proc. */
export function qemuName(instance: string, buildId: number): string {
  return `${QEMU_NAME_PREFIX}${instance}-build-${buildId}`;
}

export function qemuArgs(command: QemuCommand): string[] {
  const mebibytes = Math.max(1, Math.ceil(command.memoryBytes / 1024 ** 2));
  return [
    '-name',
    command.name,
    '-accel',
    command.accel,
    '-m',
    `${mebibytes}M`,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
    '-nic',
    'none',
    '-sandbox',
    SANDBOX,
    '-kernel',
    KERNEL_FD_PATH,
    ...(command.withInitrd ? ['-initrd', INITRD_FD_PATH] : []),
    '-append',
    kernelCommandLine(command.append),
  ];
}

/**
 * The build id of a QEMU process of `instance`, from its argument list; null when it is not one
 * of ours (another program, another service's QEMU, a QEMU started by hand).
 */
export function ourQemuBuild(argv: readonly string[], instance: string): number | null {
  if (!argv[0]?.split('/').pop()?.startsWith('qemu-system')) return null;
  const at = argv.indexOf('-name');
  const name = at >= 0 ? argv[at + 1] : undefined;
  const match = name ? /^autobuilder-(.+)-build-(\d+)$/.exec(name) : null;
  return match && match[1] === instance ? Number(match[2]) : null;
}
