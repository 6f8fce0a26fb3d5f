/**
 * What a build container may use by default. A build runs code from any push: the defaults keep a
 * fork bomb, a memory hog or a log flood inside the build, and each rule can raise them.
 */

/** Processes and threads in one container: plenty for `make -j`, a fork bomb stops here. */
export const DEFAULT_PIDS_LIMIT = 4096;
/** Memory of one container (Docker adds as much swap again). */
export const DEFAULT_MEMORY_BYTES = 4 * 1024 ** 3;
/** Bytes of one build's log; past it the build fails with "log limit exceeded". */
export const DEFAULT_LOG_MAX_BYTES = 256 * 1024 ** 2;

/**
 * Capabilities of Docker's default set that builds do not need. Kept: CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID, SETUID, SETGID and KILL (apt, dpkg, chown, `make install`), MKNOD and
 * SYS_CHROOT (debootstrap and chroot-based image builds such as Zero-OS's; device nodes stay
 * behind Docker's device cgroup). A rule gets any of these back with `cap_add`.
 */
export const DROPPED_CAPABILITIES = [
  'AUDIT_WRITE', // writing to the kernel audit log
  'NET_RAW', // raw sockets: packet forging and ARP spoofing on the build network
  'NET_BIND_SERVICE', // listening on ports below 1024
  'SETFCAP', // giving files capabilities (package scripts fall back to setuid bits)
  'SETPCAP', // changing capability sets of other processes
] as const;

/** `cap_net_raw`, `CAP_NET_RAW` and `NET_RAW` all name NET_RAW, as Docker writes it. */
export function normaliseCapability(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, '');
}

/** Docker's CapAdd/CapDrop for a rule's `cap_add`: what is added back is not dropped. */
export function capabilitySets(capAdd: readonly string[]): { add: string[]; drop: string[] } {
  const add = [...new Set(capAdd.map(normaliseCapability))];
  return { add, drop: DROPPED_CAPABILITIES.filter((cap) => !add.includes(cap)) };
}

/** `256 MiB`, `1.5 GiB`, `512 KiB`: how a size is shown in reasons. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
