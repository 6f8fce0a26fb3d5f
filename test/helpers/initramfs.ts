/**
 * What the boot tests boot: Debian's own kernel (package linux-image-amd64) and a busybox
 * initramfs made here, a cpio "newc" archive (Debian's `cpio`) of busybox-static and an `/init`
 * script. Both are installed by .ci/run; a missing one fails loudly, never skips.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MARKER = 'zero-os: ready';

/** The newest /boot/vmlinuz-* (Debian's kernel), as bytes. */
export function debianKernel(): Buffer {
  const kernels = readdirSync('/boot')
    .filter((name) => name.startsWith('vmlinuz-'))
    .sort();
  const newest = kernels.at(-1);
  if (!newest)
    throw new Error('the boot tests need a kernel in /boot (apt-get install linux-image-amd64, see .ci/run)');
  return readFileSync(join('/boot', newest));
}

/** An /init that prints the marker and powers off. */
export const BOOTING_INIT = [
  '#!/bin/busybox sh',
  '/bin/busybox echo "init: started"',
  `/bin/busybox echo "${MARKER}"`,
  '/bin/busybox poweroff -f',
].join('\n');

/** An /init that says it started and then waits forever: never the marker. */
export const HANGING_INIT = [
  '#!/bin/busybox sh',
  '/bin/busybox echo "init: started"',
  '/bin/busybox echo "init: waiting for a disk that never comes"',
  'while true; do /bin/busybox sleep 1; done',
].join('\n');

/** A cpio newc archive of busybox-static with `init` as /init. */
export function busyboxInitramfs(init: string): Buffer {
  const root = mkdtempSync(join(tmpdir(), 'ab-initramfs-'));
  try {
    for (const dir of ['bin', 'dev', 'proc', 'sys']) mkdirSync(join(root, dir));
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    symlinkSync('busybox', join(root, 'bin', 'sh'));
    writeFileSync(join(root, 'init'), `${init}\n`, { mode: 0o755 });
    const list = execFileSync('find', ['.'], { cwd: root, encoding: 'utf8' });
    return execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], {
      cwd: root,
      input: list,
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
