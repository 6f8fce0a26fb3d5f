/** The effective configuration the service runs with (camelCase, paths resolved). */
import type { EngineConfig } from '../domain/engine.js';
import type { BuildRule } from '../domain/rule.js';

export interface Config {
  httpPort: number;
  host: string;
  publicUrl: string;
  /** Signs webhooks (HMAC); empty: webhooks are not verified. */
  webhookSecret: string;
  /** Bearer tokens for the write endpoints; none: writes answer loopback clients only. */
  apiTokens: string[];
  /** Time a client has to send a whole request (headers and body); responses are not limited. */
  requestTimeoutMs: number;
  /** Open connections at most; Node closes any connection past it on arrival. */
  maxConnections: number;
  kernelTarget: string;
  logsDirectory: string;
  tmpDirectory: string;
  dataDirectory: string;
  /** `sqlite:<absolute path>` or `postgres://…`. */
  databaseUrl: string;
  /** How long an unreachable database is retried at start before giving up (0: one attempt). */
  databaseWaitMs: number;
  concurrency: number;
  /** Where builds run (docs/scale-out.md); one `local` engine when the config names none. */
  engines: EngineConfig[];
  /** `host[:port]` of the registry committed images go through; null: they stay on their engine. */
  registry: string | null;
  requeueInterrupted: number;
  /** Queued builds per repository (oldest superseded past it) and in all (pushes refused past it). */
  queueLimits: { perRepository: number; total: number };
  gracePeriodMs: number;
  /** Leases and the shared queue (docs/scale-out.md, Replicas). */
  replicas: { leaseMs: number; renewMs: number; pollMs: number; cancelWaitMs: number };
  debug: boolean;
  gitUrl: string;
  /** `webUrl`: commit links on the monitor; null for sources without web pages (a local git). */
  github: { token: string; apiUrl: string; context: string; webUrl: string | null };
  /**
   * Builds kept per repository and ref (their logs and kernels); gc runs every `intervalMs`. With a
   * registry, the committed image tags of a ref whose newest build is older than `imageAgeMs` are
   * deleted there (branch master's never).
   */
  retention: { keep: number; intervalMs: number; imageAgeMs: number };
  /** Build caches on each engine: at most `maxBytes` in all, none unused for `maxAgeMs` (gc). */
  caches: { maxBytes: number; maxAgeMs: number };
  /**
   * Open live streams (SSE, /api/events and log streams): caps in total and per client address,
   * and the unread bytes after which a client is dropped.
   */
  streams: { maxWatchers: number; maxWatchersPerAddress: number; maxUnreadBytes: number };
  /** The rules, by repository name; `get` also finds a rule by an alias (domain/rule-set.ts). */
  rules: Map<string, BuildRule>;
  /** The built-in profile the rules started from (config/profiles/), or null: the file's rules only. */
  profile: string | null;
  /** Where the config came from: a file path or "built-in Zero-OS defaults". */
  source: string;
  /** SHA-256 (first 12 hex digits) of the file as read; shown on the monitor after a reload. */
  revision: string;
}
