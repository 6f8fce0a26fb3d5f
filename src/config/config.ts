/** The effective configuration the service runs with (camelCase, paths resolved). */
import type { BuildRule } from '../domain/rule.js';

export interface Config {
  httpPort: number;
  host: string;
  publicUrl: string;
  token: string;
  kernelTarget: string;
  logsDirectory: string;
  tmpDirectory: string;
  dataDirectory: string;
  /** `sqlite:<absolute path>` or `postgres://…`. */
  databaseUrl: string;
  concurrency: number;
  requeueInterrupted: number;
  gracePeriodMs: number;
  debug: boolean;
  gitUrl: string;
  github: { token: string; apiUrl: string; context: string };
  /** Builds kept per repository and ref (their logs and kernels); gc runs every `intervalMs`. */
  retention: { keep: number; intervalMs: number };
  /**
   * Open live streams (SSE, /api/events and log streams): caps in total and per client address,
   * and the unread bytes after which a client is dropped.
   */
  streams: { maxWatchers: number; maxWatchersPerAddress: number; maxUnreadBytes: number };
  rules: Map<string, BuildRule>;
  /** Where the config came from: a file path or "built-in Zero-OS defaults". */
  source: string;
}
