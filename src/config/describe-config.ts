/** The effective config as YAML, secrets masked (what `autobuilder config check` prints). */
import { stringify } from 'yaml';
import { formatDuration } from '../domain/duration.js';
import type { Config } from './config.js';

export function describeConfig(config: Config): string {
  const repositories = Object.fromEntries(
    [...config.rules.values()].map((rule) => [
      rule.repository,
      {
        ...(rule.image ? { image: rule.image } : { base: rule.base }),
        checkout: rule.checkout,
        steps: rule.steps,
        ...(Object.keys(rule.env).length ? { env: rule.env } : {}),
        network: rule.network,
        artifact: rule.artifact,
        ...(rule.publish ? { publish: rule.publish } : {}),
        ...(rule.link ? { link: rule.link } : {}),
        ...(rule.commit ? { commit: rule.commit } : {}),
        timeout: formatDuration(rule.timeoutMs),
        memory: rule.memoryBytes,
        pids_limit: rule.pidsLimit,
        ...(rule.capAdd.length ? { cap_add: rule.capAdd } : {}),
        log_max_size: rule.logMaxBytes,
        artifact_max_size: rule.artifactMaxBytes,
        cancel_running: rule.cancelRunning,
      },
    ]),
  );
  return `# effective config from ${config.source}\n${stringify({
    http_port: config.httpPort,
    host: config.host,
    public_url: config.publicUrl,
    webhook_secret: config.webhookSecret ? '(set)' : '(none: webhooks are not verified)',
    api_tokens: config.apiTokens.length
      ? `(${config.apiTokens.length} set)`
      : '(none: write endpoints answer only clients on this host)',
    request_timeout: formatDuration(config.requestTimeoutMs),
    max_connections: config.maxConnections,
    kernel_target: config.kernelTarget,
    logs_directory: config.logsDirectory,
    tmp_directory: config.tmpDirectory,
    data_directory: config.dataDirectory,
    database_url: config.databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'),
    database_wait: config.databaseWaitMs === 0 ? 0 : formatDuration(config.databaseWaitMs),
    concurrency: config.concurrency,
    requeue_interrupted: config.requeueInterrupted,
    max_queued_per_repository: config.queueLimits.perRepository,
    max_queued: config.queueLimits.total,
    grace_period: formatDuration(config.gracePeriodMs),
    debug: config.debug,
    git: { url: config.gitUrl },
    github: {
      token: config.github.token ? '(set)' : '(none: no commit statuses)',
      api_url: config.github.apiUrl,
      context: config.github.context,
      web_url: config.github.webUrl ?? '(none: no commit links)',
    },
    retention: { keep: config.retention.keep, interval: formatDuration(config.retention.intervalMs) },
    streams: {
      max_watchers: config.streams.maxWatchers,
      max_watchers_per_address: config.streams.maxWatchersPerAddress,
      max_unread: config.streams.maxUnreadBytes,
    },
    repositories,
  })}`;
}
