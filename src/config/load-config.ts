/**
 * Config = YAML file (or the built-in Zero-OS defaults) + environment overrides with the
 * historical names (TOKEN, KERNEL_TARGET, LOGS_DIRECTORY, TMP_DIRECTORY, HTTP_PORT, DEBUG,
 * DATABASE_URL, DATABASE_WAIT) and the newer WEBHOOK_SECRET, API_TOKEN. Every problem is reported
 * at once, each with its key path.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../errors.js';
import type { Config } from './config.js';
import { LOCAL_ENGINE_NAME, LOCAL_ENGINE_URL } from '../domain/engine.js';
import { configSchema, type ConfigProblem, type ParsedConfig } from './schema.js';
import { crossCheck } from './cross-check.js';
import { DEFAULT_PROFILE, PROFILE_NAMES, type ProfileName } from './profile-names.js';
import { profileRepositories } from './profiles/profiles.js';
import { RuleSet } from '../domain/rule-set.js';
import { resolveSecrets } from './secrets.js';

const ENV_KEYS = {
  KERNEL_TARGET: 'kernel_target',
  LOGS_DIRECTORY: 'logs_directory',
  TMP_DIRECTORY: 'tmp_directory',
  HTTP_PORT: 'http_port',
  DATABASE_URL: 'database_url',
  DATABASE_WAIT: 'database_wait',
  PUBLIC_URL: 'public_url',
} as const;

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function resolveConfigPath(options: LoadOptions): string | null {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.AUTOBUILDER_CONFIG;
  if (explicit) return resolve(cwd, explicit);
  const fallback = resolve(cwd, 'autobuilder.yaml');
  return existsSync(fallback) ? fallback : null;
}

/** The first 12 hex digits of the SHA-256 of the file as read: the revision the monitor shows. */
const revisionOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

function readRaw(path: string | null): { raw: Record<string, unknown>; revision: string } {
  if (!path) {
    const raw = { profile: DEFAULT_PROFILE, repositories: profileRepositories(DEFAULT_PROFILE) };
    return { raw, revision: revisionOf(JSON.stringify(raw)) };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('CONFIG_INVALID', `cannot read config ${path}: ${(error as Error).message}`, [
      { path: '', message: (error as Error).message },
    ]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new AppError('CONFIG_INVALID', `config ${path} is not valid YAML`, [
      { path: '', message: (error as Error).message },
    ]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('CONFIG_INVALID', `config ${path} must be a YAML mapping`, [
      { path: '', message: 'expected a mapping at the top level' },
    ]);
  }
  return { raw: withProfile(raw as Record<string, unknown>), revision: revisionOf(text) };
}

/**
 * A file's `profile` rules under its own `repositories` (an entry of the same name replaces the
 * profile's whole). A file with neither runs the default profile, as before profiles existed.
 */
function withProfile(record: Record<string, unknown>): Record<string, unknown> {
  const own = record.repositories;
  const named = (PROFILE_NAMES as readonly unknown[]).includes(record.profile)
    ? (record.profile as ProfileName)
    : undefined;
  if (own === undefined && record.profile === undefined) {
    record.profile = DEFAULT_PROFILE;
    record.repositories = profileRepositories(DEFAULT_PROFILE);
  } else if (
    named &&
    (own === undefined || (typeof own === 'object' && own !== null && !Array.isArray(own)))
  ) {
    record.repositories = { ...profileRepositories(named), ...(own as object | undefined) };
  } else if (own === undefined) {
    // An unknown profile: its own problem is reported, not a missing `repositories` as well.
    record.repositories = {};
  }
  return record;
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  // TOKEN is the seed's name for the webhook secret; WEBHOOK_SECRET wins when both are set. Either
  // replaces what the file says under either name (an empty value too: "no secret").
  const secret = env.WEBHOOK_SECRET ?? env.TOKEN;
  if (secret !== undefined) {
    delete raw.token;
    raw.webhook_secret = secret;
  }
  if (env.API_TOKEN !== undefined)
    raw.api_tokens = env.API_TOKEN.split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  if (env.GITHUB_TOKEN) raw.github = { ...(raw.github as object | undefined), token: env.GITHUB_TOKEN };
  if (env.DEBUG !== undefined && env.DEBUG !== '')
    raw.debug = !['0', 'false', 'no', 'off'].includes(env.DEBUG.toLowerCase());
}

export type { ConfigProblem };

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const path = resolveConfigPath(options);
  const { raw, revision } = readRaw(path);
  applyEnv(raw, env);
  const parsed = configSchema.safeParse(raw);
  const problems: ConfigProblem[] = [
    ...(parsed.success ? [] : parsed.error.issues)
      .filter((issue) => issue.message !== 'Invalid key in record')
      .map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    ...crossCheck(raw),
  ];
  if (!parsed.success || problems.length > 0) {
    throw new AppError('CONFIG_INVALID', `invalid config (${path ?? 'built-in defaults'})`, problems);
  }
  const secretProblems: ConfigProblem[] = [];
  const secrets = new Map(
    Object.entries(parsed.data.repositories).map(([repository, rule]) => [
      repository,
      resolveSecrets(repository, rule.secrets, env, cwd, secretProblems),
    ]),
  );
  if (secretProblems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid config (${path ?? 'built-in defaults'})`, secretProblems);
  return { ...toConfig(parsed.data, path ?? 'built-in Zero-OS defaults', cwd, secrets), revision };
}

function toConfig(
  data: ParsedConfig,
  source: string,
  cwd: string,
  secrets: Map<string, Record<string, string>>,
): Omit<Config, 'revision'> {
  const rules = new RuleSet();
  const aliasOf = new Map(
    Object.entries(data.repositories).flatMap(([name, rule]) => rule.aliases.map((a) => [a, name] as const)),
  );
  for (const [repository, rule] of Object.entries(data.repositories)) {
    rules.add({
      repository,
      aliases: rule.aliases,
      image: rule.image,
      // A base named by an alias is its rule's canonical name from here on.
      base: rule.base && (aliasOf.get(rule.base) ?? rule.base),
      baseMissing: rule.base_missing,
      checkout: rule.checkout,
      steps: rule.steps,
      env: rule.env,
      network: rule.network,
      artifact: rule.artifact,
      publish: rule.publish,
      link: rule.link,
      releasePublish: rule.release_publish,
      releaseLink: rule.release_link,
      commit: rule.commit,
      timeoutMs: rule.timeout,
      memoryBytes: rule.memory ?? data.memory,
      pidsLimit: rule.pids_limit ?? data.pids_limit,
      capAdd: rule.cap_add,
      logMaxBytes: rule.log_max_size ?? data.log_max_size,
      artifactMaxBytes: rule.artifact_max_size ?? data.artifact_max_size,
      cancelRunning: rule.cancel_running,
      branches: rule.branches,
      tags: rule.tags,
      repositoryConfig: rule.repository_config,
      secrets: secrets.get(repository) ?? {},
      trustedAuthors: [...new Set([...data.trusted_authors, ...rule.trusted_authors])],
      ...(rule.cache.length ? { cache: rule.cache } : {}),
      ...(rule.boot
        ? {
            boot: {
              marker: rule.boot.marker,
              timeoutMs: rule.boot.timeout,
              memoryBytes: rule.boot.memory,
              append: rule.boot.append,
              initrd: rule.boot.initrd,
              accel: rule.boot.accel,
            },
          }
        : {}),
    });
  }
  const dataDirectory = resolve(cwd, data.data_directory);
  return {
    httpPort: data.http_port,
    host: data.host,
    publicUrl: (data.public_url ?? `http://localhost:${data.http_port}`).replace(/\/+$/, ''),
    webhookSecret: data.webhook_secret ?? data.token ?? '',
    apiTokens: [...new Set(data.api_tokens)],
    requestTimeoutMs: data.request_timeout,
    maxConnections: data.max_connections,
    kernelTarget: resolve(cwd, data.kernel_target ?? join(dataDirectory, 'kernels')),
    logsDirectory: resolve(cwd, data.logs_directory ?? join(dataDirectory, 'logs')),
    tmpDirectory: resolve(cwd, data.tmp_directory ?? join(dataDirectory, 'tmp')),
    dataDirectory,
    databaseUrl: data.database_url?.startsWith('postgres')
      ? data.database_url
      : `sqlite:${resolve(cwd, data.database_url?.slice('sqlite:'.length) ?? join(dataDirectory, 'autobuilder.db'))}`,
    databaseWaitMs: data.database_wait,
    concurrency: data.concurrency,
    engines: data.engines?.map((e) => ({
      name: e.name,
      url: e.url,
      capacity: e.capacity,
      ...(e.tls ? { tls: e.tls } : {}),
      ...(e.ssh
        ? {
            ssh: {
              ...(e.ssh.key ? { key: resolve(cwd, e.ssh.key) } : {}),
              ...(e.ssh.host_key ? { hostKey: e.ssh.host_key } : {}),
            },
          }
        : {}),
    })) ?? [
      { name: LOCAL_ENGINE_NAME, url: LOCAL_ENGINE_URL, capacity: data.concurrency, fromEnvironment: true },
    ],
    registry: data.registry ?? null,
    requeueInterrupted: data.requeue_interrupted,
    queueLimits: { perRepository: data.max_queued_per_repository, total: data.max_queued },
    gracePeriodMs: data.grace_period,
    replicas: {
      leaseMs: data.replicas.lease,
      renewMs: data.replicas.renew,
      pollMs: data.replicas.poll,
      cancelWaitMs: data.replicas.cancel_wait,
    },
    debug: data.debug,
    gitUrl: data.git.url,
    github: {
      token: data.github.token,
      apiUrl: data.github.api_url.replace(/\/+$/, ''),
      context: data.github.context,
      webUrl: forgeWebUrl(data.github.web_url, data.git.url),
    },
    retention: {
      keep: data.retention.keep,
      intervalMs: data.retention.interval,
      imageAgeMs: data.retention.image_age,
    },
    caches: { maxBytes: data.cache_max_size, maxAgeMs: data.cache_max_age },
    streams: {
      maxWatchers: data.streams.max_watchers,
      maxWatchersPerAddress: data.streams.max_watchers_per_address,
      maxUnreadBytes: data.streams.max_unread,
    },
    rules,
    profile: data.profile ?? null,
    source,
  };
}

/**
 * Where commits are shown on the web: `github.web_url` (GitHub Enterprise), else github.com when
 * the sources come from github.com, else nowhere (a local `git.url` has no web pages).
 */
export function forgeWebUrl(webUrl: string | undefined, gitUrl: string): string | null {
  if (webUrl) return webUrl.replace(/\/+$/, '');
  return /^https:\/\/github\.com\//.test(gitUrl) ? 'https://github.com' : null;
}
