/** A repository's build rule, as config resolves it. */
export interface BuildRule {
  repository: string;
  /** Fresh base image (full build). Exactly one of `image` and `base` is set. */
  image?: string;
  /** Repository whose committed image this one starts from (incremental build). */
  base?: string;
  checkout: string;
  steps: string[];
  env: Record<string, string>;
  network: string;
  artifact: string;
  publish?: string;
  link?: string;
  commit?: string;
  timeoutMs: number;
  /** Limits of the build container and its log (defaults in limits.ts). */
  memoryBytes: number;
  pidsLimit: number;
  /** Capabilities given back from DROPPED_CAPABILITIES (upper case, without `CAP_`). */
  capAdd: string[];
  logMaxBytes: number;
  /** Largest artifact accepted (rule's `artifact_max_size`, else the global one). */
  artifactMaxBytes: number;
  cancelRunning: boolean;
  /** Boot the kernel under QEMU before publishing it (rule key `boot:`); none: no boot test. */
  boot?: BootRule;
}

/** How QEMU is run: `auto` tries KVM within a probe's time and falls back to TCG. */
export type BootAccel = 'tcg' | 'kvm' | 'auto';

export interface BootRule {
  /** A console line containing this text proves the kernel came up. */
  marker: string;
  timeoutMs: number;
  memoryBytes: number;
  /** Kernel command line as written; `console=ttyS0` is added when missing. */
  append: string;
  /** A second file under /target given to QEMU as `-initrd`. */
  initrd?: string;
  accel: BootAccel;
}

export function ruleKind(rule: BuildRule): 'full' | 'incremental' {
  return rule.base ? 'incremental' : 'full';
}
