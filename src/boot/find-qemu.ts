/**
 * Whether `qemu-system-x86_64` can be run here, and which rules need it. A missing QEMU is a
 * problem of the host, not of a build: `config check` and `/healthz` name it, the builds of rules
 * with `boot:` fail with that reason, other rules build as usual.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { BuildRule } from '../domain/rule.js';
import { QEMU_BINARY } from './qemu-command.js';

/** The absolute path of QEMU on `PATH`, or null. Looked up per call: it may be installed later. */
export function findQemu(path = process.env.PATH ?? ''): string | null {
  for (const directory of path.split(':').filter(Boolean)) {
    const candidate = join(directory, QEMU_BINARY);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: the next directory
    }
  }
  return null;
}

/** The problem to report when rules need QEMU and it is missing; null when all is well. */
export function qemuProblem(rules: Iterable<BuildRule>, qemu: string | null = findQemu()): string | null {
  if (qemu) return null;
  const needing = [...rules].filter((rule) => rule.boot).map((rule) => rule.repository);
  if (needing.length === 0) return null;
  return `${needing.join(', ')} ${needing.length === 1 ? 'has' : 'have'} a boot test, which needs ${QEMU_BINARY}, and it is not installed (Debian: apt-get install qemu-system-x86)`;
}

export const MISSING_QEMU_REASON = `boot test: ${QEMU_BINARY} is not installed on the service host`;
