/**
 * Config = YAML file (or the built-in Zero-OS defaults) + environment overrides with the
 * historical names (TOKEN, KERNEL_TARGET, LOGS_DIRECTORY, TMP_DIRECTORY, HTTP_PORT, DEBUG,
 * DATABASE_URL, DATABASE_WAIT) and the newer WEBHOOK_SECRET, API_TOKEN. Every problem is reported
 * at once, each with its key path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../errors.js';
import type { BuildRule } from '../domain/rule.js';
import type { Config } from './config.js';
import { configSchema, crossCheck, type ConfigProblem, type ParsedConfig } from './schema.js';
import { ZERO_OS_DEFAULTS } from './zero-os-defaults.js';

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

function readRaw(path: string | null): Record<string, unknown> {
  if (!path) return structuredClone(ZERO_OS_DEFAULTS) as Record<string, unknown>;
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
  const record = raw as Record<string, unknown>;
  if (record.repositories === undefined) record.repositories = structuredClone(ZERO_OS_DEFAULTS.repositories);
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
  const raw = readRaw(path);
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
  return toConfig(parsed.data!, path ?? 'built-in Zero-OS defaults', cwd);
}

function toConfig(data: ParsedConfig, source: string, cwd: string): Config {
  const rules = new Map<string, BuildRule>();
  for (const [repository, rule] of Object.entries(data.repositories)) {
    rules.set(repository, {
      repository,
      image: rule.image,
      base: rule.base,
      checkout: rule.checkout,
      steps: rule.steps,
      env: rule.env,
      network: rule.network,
      artifact: rule.artifact,
      publish: rule.publish,
      link: rule.link,
      commit: rule.commit,
      timeoutMs: rule.timeout,
      memoryBytes: rule.memory ?? data.memory,
      pidsLimit: rule.pids_limit ?? data.pids_limit,
      capAdd: rule.cap_add,
      logMaxBytes: rule.log_max_size ?? data.log_max_size,
      artifactMaxBytes: rule.artifact_max_size ?? data.artifact_max_size,
      cancelRunning: rule.cancel_running,
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
    requeueInterrupted: data.requeue_interrupted,
    queueLimits: { perRepository: data.max_queued_per_repository, total: data.max_queued },
    gracePeriodMs: data.grace_period,
    debug: data.debug,
    gitUrl: data.git.url,
    github: {
      token: data.github.token,
      apiUrl: data.github.api_url.replace(/\/+$/, ''),
      context: data.github.context,
      webUrl: forgeWebUrl(data.github.web_url, data.git.url),
    },
    retention: { keep: data.retention.keep, intervalMs: data.retention.interval },
    streams: {
      maxWatchers: data.streams.max_watchers,
      maxWatchersPerAddress: data.streams.max_watchers_per_address,
      maxUnreadBytes: data.streams.max_unread,
    },
    rules,
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
