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
  memoryBytes?: number;
  /** Largest artifact accepted (rule's `artifact_max_size`, else the global one). */
  artifactMaxBytes: number;
  cancelRunning: boolean;
}

export function ruleKind(rule: BuildRule): 'full' | 'incremental' {
  return rule.base ? 'incremental' : 'full';
}
