/** A repository's build rule, as config resolves it. */
export interface BuildRule {
  repository: string;
  /**
   * Fresh base image (full build). Exactly one of `image` and `base` is set, or both when
   * `baseMissing` is `full`: then `image` is what the build starts from while its base has no image.
   */
  image?: string;
  /** Repository whose committed image this one starts from (incremental build). */
  base?: string;
  /** What an incremental build does when its base has no image: fail (default) or build full from `image`. */
  baseMissing?: 'fail' | 'full';
  /** Other names pushes of this repository come with (domain/rule-set.ts). */
  aliases?: string[];
  checkout: string;
  steps: string[];
  env: Record<string, string>;
  network: string;
  artifact: string;
  publish?: string;
  link?: string;
  /** Tag builds publish under `releasePublish` (default `publish`) and move `releaseLink`, never `link`. */
  releasePublish?: string;
  releaseLink?: string;
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
  /** Globs of the branches / tags built (domain/ref-filter.ts); absent: all of them. */
  branches?: string[];
  tags?: string[];
  /** Whether the pushed commit's `.autobuilder.yaml` may change this rule (pipeline/repository-file.ts). */
  repositoryConfig: boolean;
  /** Secret environment variables (resolved values); masked as `***` in logs and streams. */
  secrets?: Record<string, string>;
  /** GitHub logins whose fork pull requests build without approval (server's and rule's). */
  trustedAuthors?: string[];
  /** Directories kept between builds in named volumes (domain/cache.ts); none: no caches. */
  cache?: string[];
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

/** Where the scheduler and pipeline look rules up: a Map, or the live config (config-holder.ts). */
export type RuleLookup = Pick<ReadonlyMap<string, BuildRule>, 'get' | 'has'>;

export function ruleKind(rule: BuildRule): 'full' | 'incremental' {
  return rule.base ? 'incremental' : 'full';
}
