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
  databasePath: string;
  concurrency: number;
  requeueInterrupted: number;
  gracePeriodMs: number;
  debug: boolean;
  gitUrl: string;
  rules: Map<string, BuildRule>;
  /** Where the config came from: a file path or "built-in Zero-OS defaults". */
  source: string;
}
