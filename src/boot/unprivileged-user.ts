/**
 * Who QEMU runs as. A service running as root starts it as `nobody` (the uid and gid are set by
 * the spawn itself: QEMU's own `-runas` changes user after its seccomp sandbox is on, which the
 * sandbox's `elevateprivileges=deny` then kills with SIGSYS). Under KVM the group is `kvm`, so
 * that `/dev/kvm` (root:kvm, 0660 on Debian) opens and nothing else does. A service that is not
 * root runs QEMU as itself: it cannot change user, and is unprivileged already.
 */
import { readFileSync } from 'node:fs';

export interface ProcessUser {
  uid: number;
  gid: number;
}

const NOBODY = 65534;

function idOf(file: string, name: string, field: number): number | null {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const parts = line.split(':');
      if (parts[0] === name && parts[field] !== undefined && /^\d+$/.test(parts[field])) {
        return Number(parts[field]);
      }
    }
  } catch {
    // no such file (a minimal container): the well-known ids below
  }
  return null;
}

/** The user and group to spawn QEMU with; undefined when the service cannot change user. */
export function qemuUser(accel: 'tcg' | 'kvm'): ProcessUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = idOf('/etc/passwd', 'nobody', 2) ?? NOBODY;
  const group = accel === 'kvm' ? idOf('/etc/group', 'kvm', 2) : null;
  const gid = group ?? idOf('/etc/group', 'nogroup', 2) ?? NOBODY;
  return { uid, gid };
}
