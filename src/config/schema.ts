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

const template = z
  .string()
  .min(1)
  .refine((t) => unknownPlaceholders(t).length === 0, {
    message: 'unknown placeholder; known: {repository} {owner} {name} {branch} {commit} {short}',
  });

const fileName = template.refine((t) => !t.includes('/') && t !== '.' && t !== '..', {
  message: 'must be a file name inside kernel_target, without "/"',
});

const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 90s, 45m, 2h)` });
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

const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path in the container');

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
    commit: template.regex(/^[a-z0-9{][a-z0-9._/{}-]*(:[A-Za-z0-9._{}-]+)?$/, 'not an image name').optional(),
    timeout: duration.default(45 * 60_000),
    memory: memory.optional(),
    pids_limit: pidsLimit.optional(),
    cap_add: z.array(capability).default([]),
    log_max_size: memory.optional(),
    /** Overrides the global `artifact_max_size` for this repository. */
    artifact_max_size: memory.optional(),
    cancel_running: z.boolean().default(false),
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
    requeue_interrupted: z.number().int().min(0).max(10).default(1),
    max_queued_per_repository: z.number().int().min(1).max(100_000).default(50),
    max_queued: z.number().int().min(1).max(1_000_000).default(1000),
    grace_period: duration.default(30_000),
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
      })
      .strict()
      .default({ keep: 10, interval: 86_400_000 }),
    streams: z
      .object({
        max_watchers: z.number().int().min(1).default(1000),
        max_watchers_per_address: z.number().int().min(1).default(32),
        max_unread: memory.default(1024 * 1024),
      })
      .strict()
      .default({ max_watchers: 1000, max_watchers_per_address: 32, max_unread: 1024 * 1024 }),
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
  const repositories = isRecord(raw.repositories) ? raw.repositories : {};
  for (const [repository, value] of Object.entries(repositories)) {
    const at = `repositories.${repository}`;
    if (!REPOSITORY.test(repository)) problems.push({ path: at, message: 'repository must be owner/name' });
    if (!isRecord(value)) continue;
    if (Boolean(value.image) === Boolean(value.base)) {
      problems.push({ path: at, message: 'set exactly one of "image" (full build) or "base" (incremental)' });
    }
    if (value.link && !value.publish)
      problems.push({ path: `${at}.link`, message: '"link" needs "publish"' });
    if (typeof value.base !== 'string') continue;
    const base = repositories[value.base];
    if (!isRecord(base)) {
      problems.push({ path: `${at}.base`, message: `base "${value.base}" is not configured` });
    } else if (base.base) {
      problems.push({
        path: `${at}.base`,
        message: 'a base must be a full build (image), not an incremental one',
      });
    } else if (typeof base.commit !== 'string' || !base.commit.includes(':')) {
      problems.push({
        path: `repositories.${value.base}.commit`,
        message: `needs "commit" as <image>:<tag template>, because ${repository} builds on it`,
      });
    }
  }
  return problems;
}
