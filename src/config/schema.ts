/** The YAML config file, validated with zod. Keys are snake_case as users write them. */
import { z } from 'zod';
import { parseDuration, parseMemory } from '../domain/duration.js';
import {
  DEFAULT_LOG_MAX_BYTES,
  DEFAULT_MEMORY_BYTES,
  DEFAULT_PIDS_LIMIT,
  normaliseCapability,
} from '../domain/limits.js';
import { unknownPlaceholders } from '../domain/template.js';

import { REPOSITORY_PATTERN as REPOSITORY } from '../domain/repository.js';
import { PROFILE_NAMES } from './profile-names.js';
import { checkRules } from './rule-checks.js';
import { crossCheckEngines, engineSchema, registrySchema } from './engines-schema.js';

const template = z
  .string()
  .min(1)
  .refine((t) => unknownPlaceholders(t).length === 0, {
    message: 'unknown placeholder; known: {repository} {owner} {name} {branch} {commit} {short}',
  });

const fileName = template.refine((t) => !t.includes('/') && t !== '.' && t !== '..', {
  message: 'must be a file name inside kernel_target, without "/"',
});

/** The longest duration a timer can wait for (Node's limit is 2^31-1 ms, about 24.8 days). */
const MAX_DURATION_MS = 24 * 86_400_000;

const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 90s, 45m, 2h)` });
    return z.NEVER;
  }
  // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires at once.
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is longer than the longest duration, 24d` });
    return z.NEVER;
  }
  return ms;
});

/** An age rather than a timer (`90d`): no 24-day cap, since nothing waits for it. */
const age = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 30d, 12h)` });
    return z.NEVER;
  }
  return ms;
});

const memory = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseMemory(value);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: `not a memory size: "${value}" (use 512m, 4g)` });
    return z.NEVER;
  }
  return bytes;
});

const pidsLimit = z.number().int().min(16, 'at least 16 (the build shell and its steps need some)');

const capability = z
  .string()
  .regex(/^(CAP_)?[A-Z][A-Z_]*$/i, 'a capability name such as NET_RAW')
  .transform(normaliseCapability);
export const DEFAULT_ARTIFACT_MAX_SIZE = 2 * 1024 ** 3;
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;
export const DEFAULT_CACHE_MAX_AGE_MS = 14 * 86_400_000;

/** `branches:` / `tags:` globs (domain/ref-filter.ts); `!pattern` excludes. */
export const refPatterns = z.array(
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^!?[^\s!][^\s]*$/, 'a glob such as master, "release/*" or "!wip/*", without spaces'),
);

const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path in the container');

/** The boot test (docs/configuration.md, "Boot test"): off unless a rule has `boot:`. */
const bootSchema = z
  .object({
    marker: z
      .string({ error: 'required: text of a console line printed once the kernel is up' })
      .min(1)
      .refine((m) => !/[\r\n]/.test(m), 'one line: a console line contains it'),
    timeout: duration.default(3 * 60_000),
    memory: memory
      .refine((b) => b >= 64 * 1024 ** 2, 'at least 64m (a kernel and its initramfs must fit)')
      .default(1024 ** 3),
    append: z.string().default('console=ttyS0'),
    initrd: absolutePath
      .refine((p) => p.startsWith('/target/') && !p.split('/').includes('..'), {
        message: "must be a file under /target (the build container's output directory)",
      })
      .optional(),
    accel: z.enum(['tcg', 'kvm', 'auto'], { message: 'one of tcg, kvm, auto' }).default('tcg'),
  })
  .strict();

/** GitHub logins (case-insensitive, as GitHub's are). */
const githubLogins = z
  .array(z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?$/, 'a GitHub login'))
  .default([]);

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

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks across rules, run on the raw file even when field checks fail, so every problem is
 * reported at once.
 */
export function crossCheck(raw: Loose): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (raw.token !== undefined && raw.webhook_secret !== undefined)
    problems.push({ path: 'token', message: 'set only webhook_secret ("token" is its old name)' });
  const secret = raw.webhook_secret ?? raw.token;
  if (Array.isArray(raw.api_tokens) && typeof secret === 'string' && raw.api_tokens.includes(secret))
    problems.push({ path: 'api_tokens', message: 'an API token must differ from the webhook secret' });
  problems.push(...crossCheckEngines(raw));
  const repositories = isRecord(raw.repositories) ? raw.repositories : {};
  // GitHub names are case-insensitive: a push for Zero-OS/Core0 finds zero-os/core0 (config-holder.ts).
  const seenNames = new Map<string, string>();
  for (const repository of Object.keys(repositories)) {
    const other = seenNames.get(repository.toLowerCase());
    if (other)
      problems.push({
        path: `repositories.${repository}`,
        message: `same repository as ${other} (GitHub names ignore case)`,
      });
    seenNames.set(repository.toLowerCase(), repository);
  }
  problems.push(...checkRules(repositories));
  // With no API token, writes are answered to loopback clients only; a build on the host's
  // network is a loopback client, so it could pause the queue or cancel other builds.
  const hasApiToken = Array.isArray(raw.api_tokens) && raw.api_tokens.length > 0;
  for (const [repository, value] of Object.entries(repositories)) {
    if (isRecord(value) && value.network === 'host' && !hasApiToken)
      problems.push({
        path: `repositories.${repository}.network`,
        message: '"host" lets the build reach the service on loopback: set api_tokens (API_TOKEN) first',
      });
  }
  return problems;
}
