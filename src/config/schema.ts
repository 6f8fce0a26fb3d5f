/**
 * The YAML config file, validated with zod. Keys are snake_case as users write them; the value
 * types are in value-schemas.ts, the checks across keys in cross-check.ts.
 */
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { DEFAULT_LOG_MAX_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_PIDS_LIMIT } from '../domain/limits.js';
import { REPOSITORY_PATTERN as REPOSITORY } from '../domain/repository.js';
import { PROFILE_NAMES } from './profile-names.js';
import { engineSchema, registrySchema } from './engines-schema.js';
import {
  absolutePath,
  age,
  bootSchema,
  capability,
  DEFAULT_ARTIFACT_MAX_SIZE,
  DEFAULT_CACHE_MAX_AGE_MS,
  DEFAULT_CACHE_MAX_BYTES,
  duration,
  fileName,
  githubLogins,
  memory,
  pidsLimit,
  refPatterns,
  template,
} from './value-schemas.js';

export const ruleSchema = z
  .object({
    image: z.string().min(1).optional(),
    base: z.string().regex(REPOSITORY, 'must be owner/name').optional(),
    checkout: absolutePath,
    steps: z.array(z.string().min(1)).min(1),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment name'), z.string())
      .default({}),
    network: z.string().min(1).default('bridge'),
    artifact: absolutePath
      .refine((p) => p.startsWith('/target/') && !p.split('/').includes('..'), {
        message: "must be a file under /target (the build container's output directory)",
      })
      .default('/target/vmlinuz.efi'),
    publish: fileName.optional(),
    link: fileName.optional(),
    /** Tag builds: the kernel's name (default: `publish`) and the link they move (never `link`). */
    release_publish: fileName.optional(),
    release_link: fileName.optional(),
    /** Other names pushes of this repository come with (a renamed repository's old name). */
    aliases: z.array(z.string().regex(REPOSITORY, 'must be owner/name')).default([]),
    /** An incremental rule whose base has no image yet: `fail` the build, or build `full` from `image`. */
    base_missing: z.enum(['fail', 'full']).default('fail'),
    commit: template.regex(/^[a-z0-9{][a-z0-9._/{}-]*(:[A-Za-z0-9._{}-]+)?$/, 'not an image name').optional(),
    timeout: duration.default(45 * 60_000),
    memory: memory.optional(),
    pids_limit: pidsLimit.optional(),
    cap_add: z.array(capability).default([]),
    log_max_size: memory.optional(),
    /** Overrides the global `artifact_max_size` for this repository. */
    artifact_max_size: memory.optional(),
    cancel_running: z.boolean().default(false),
    // Issue 15 (repository file, filters): kept together to ease merging.
    branches: refPatterns.optional(),
    tags: refPatterns.optional(),
    /** Whether `.autobuilder.yaml` in the pushed commit may change this rule (repository-file.ts). */
    repository_config: z.boolean().default(true),
    /** Environment variables kept out of config dumps and masked in logs (config/secrets.ts). */
    secrets: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment name'),
        z.union([
          z.string().min(4, 'at least 4 characters (shorter values cannot be masked in logs)'),
          z.object({ file: z.string().min(1) }).strict(),
          z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment name') }).strict(),
        ]),
      )
      .default({}),
    boot: bootSchema.optional(),
    /** Pull requests from forks by these GitHub logins build without approval (domain/pull-request.ts). */
    trusted_authors: githubLogins,
    /**
     * Build caches (docs/configuration.md, "Build caches"): directories kept between builds of a
     * branch in named volumes. Server-only: a cache outlives the build and is read by later ones.
     */
    cache: z.array(z.string()).max(16, 'at most 16 cache paths').default([]),
  })
  .strict();

export const configSchema = z
  .object({
    http_port: z.coerce.number().int().min(0).max(65535).default(5555),
    host: z.string().default('0.0.0.0'),
    public_url: z.string().url().optional(),
    /** The seed's name for webhook_secret (env TOKEN), still read. */
    token: z.string().optional(),
    webhook_secret: z.string().optional(),
    api_tokens: z
      .array(z.string().regex(/^[!-+\--~]+$/, 'printable ASCII without spaces or commas'))
      .default([]),
    request_timeout: duration.default(30_000),
    max_connections: z.number().int().min(1).max(1_000_000).default(1000),
    kernel_target: z.string().min(1).optional(),
    logs_directory: z.string().min(1).optional(),
    tmp_directory: z.string().min(1).optional(),
    data_directory: z.string().min(1).default('./data'),
    database_url: z
      .string()
      .regex(
        /^(sqlite:.+|postgres(ql)?:\/\/.+)$/,
        'use sqlite:<path> or postgres://user:password@host/database',
      )
      .optional(),
    /** How long a PostgreSQL server that cannot be reached at start is waited for; 0: not at all. */
    database_wait: z.union([z.literal(0), z.literal('0').transform(() => 0), duration]).default(60_000),
    concurrency: z.number().int().min(1).max(64).default(1),
    /** Docker engines builds run on; absent: the local socket with capacity `concurrency`. */
    engines: z.array(engineSchema).min(1).max(1000).optional(),
    registry: registrySchema.optional(),
    requeue_interrupted: z.number().int().min(0).max(10).default(1),
    /** Trusted for every repository's fork pull requests, with each rule's own `trusted_authors`. */
    trusted_authors: githubLogins,
    max_queued_per_repository: z.number().int().min(1).max(100_000).default(50),
    max_queued: z.number().int().min(1).max(1_000_000).default(1000),
    grace_period: duration.default(30_000),
    /** Build caches on one engine, in all; past it gc removes the least recently used. */
    cache_max_size: memory.default(DEFAULT_CACHE_MAX_BYTES),
    /** A cache no build used for this long is removed by gc. */
    cache_max_age: z
      .union([z.number().int().positive(), z.string()])
      .transform((value, ctx) => {
        const ms = typeof value === 'number' ? value : parseDuration(value);
        if (ms === null) {
          ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 14d, 36h)` });
          return z.NEVER;
        }
        return ms;
      })
      .default(DEFAULT_CACHE_MAX_AGE_MS),
    /**
     * Several replicas on one PostgreSQL (docs/scale-out.md, Replicas): how long a claimed build
     * stays a replica's without renewal, how often leases are renewed, how often the shared queue
     * is looked at, how long a cancel of another replica's build waits.
     */
    replicas: z
      .object({
        lease: duration.default(30_000),
        renew: duration.default(5000),
        poll: duration.default(1000),
        cancel_wait: duration.default(5000),
      })
      .strict()
      .refine((r) => r.renew < r.lease, { message: 'renew must be shorter than lease', path: ['renew'] })
      .default({ lease: 30_000, renew: 5000, poll: 1000, cancel_wait: 5000 }),
    /** Largest artifact copied out of a build container; a larger one fails the build. */
    artifact_max_size: memory.default(DEFAULT_ARTIFACT_MAX_SIZE),
    debug: z.boolean().default(false),
    memory: memory.default(DEFAULT_MEMORY_BYTES),
    pids_limit: pidsLimit.default(DEFAULT_PIDS_LIMIT),
    log_max_size: memory.default(DEFAULT_LOG_MAX_BYTES),
    git: z
      .object({ url: z.string().min(1).default('https://github.com/{repository}.git') })
      .strict()
      .default({
        url: 'https://github.com/{repository}.git',
      }),
    github: z
      .object({
        token: z.string().default(''),
        api_url: z.string().url().default('https://api.github.com'),
        context: z.string().min(1).default('autobuilder/{name}'),
        /** The forge's web pages (GitHub Enterprise: https://github.example.com). */
        web_url: z.string().url().optional(),
      })
      .strict()
      .default({ token: '', api_url: 'https://api.github.com', context: 'autobuilder/{name}' }),
    retention: z
      .object({
        keep: z.number().int().min(1).default(10),
        interval: duration.default(86_400_000),
        /** Registry tags of a ref whose newest build is older than this are deleted (never master's). */
        image_age: age.default(30 * 86_400_000),
      })
      .strict()
      .default({ keep: 10, interval: 86_400_000, image_age: 30 * 86_400_000 }),
    streams: z
      .object({
        max_watchers: z.number().int().min(1).default(1000),
        max_watchers_per_address: z.number().int().min(1).default(32),
        max_unread: memory.default(1024 * 1024),
      })
      .strict()
      .default({ max_watchers: 1000, max_watchers_per_address: 32, max_unread: 1024 * 1024 }),
    /** Built-in repositories the file starts from (config/profiles.ts); `repositories` add or replace. */
    profile: z.enum(PROFILE_NAMES).optional(),
    repositories: z.record(z.string().regex(REPOSITORY, 'repository must be owner/name'), ruleSchema),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

export interface ConfigProblem {
  path: string;
  message: string;
}
