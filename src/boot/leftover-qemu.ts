/**
 * QEMU processes of this service instance still running: after a kill -9 of the service, a boot
 * under way keeps its QEMU (nothing ties a child's life to its parent's on Linux without
 * prctl). They are found by the `-name autobuilder-<instance>-build-<id>` every boot carries and
 * killed at the next start, before any build runs. Another service's QEMU (another instance id)
 * and QEMUs started by hand are never touched.
 */
import { readdir, readFile } from 'node:fs/promises';
import { ourQemuBuild } from './qemu-command.js';

export interface QemuProcess {
  pid: number;
  buildId: number;
}

export async function findOurQemu(instance: string, proc = '/proc'): Promise<QemuProcess[]> {
  const found: QemuProcess[] = [];
  const entries = await readdir(proc).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // Gone between the listing and the read, or not ours to read: not a QEMU of ours either way.
    const raw = await readFile(`${proc}/${entry}/cmdline`).catch(() => null);
    if (!raw || raw.length === 0) continue;
    const argv = raw.toString('utf8').replace(/\0$/, '').split('\0');
    const buildId = ourQemuBuild(argv, instance);
    if (buildId !== null) found.push({ pid: Number(entry), buildId });
  }
  return found;
}

/** Kills every QEMU of `instance`; returns what it killed. Safe to run twice. */
export async function killOurQemu(instance: string): Promise<QemuProcess[]> {
  const found = await findOurQemu(instance);
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}
