/** The effective config as YAML, secrets masked (what `autobuilder config check` prints). */
import { stringify } from 'yaml';
import { formatDuration } from '../domain/duration.js';
import type { Config } from './config.js';

export function describeConfig(config: Config): string {
  const repositories = Object.fromEntries(
    [...config.rules.values()].map((rule) => [
      rule.repository,
      {
        ...(rule.aliases?.length ? { aliases: rule.aliases } : {}),
        ...(rule.image ? { image: rule.image } : {}),
        ...(rule.base ? { base: rule.base } : {}),
        ...(rule.base && rule.image ? { base_missing: rule.baseMissing } : {}),
        checkout: rule.checkout,
        steps: rule.steps,
        ...(Object.keys(rule.env).length ? { env: rule.env } : {}),
        network: rule.network,
        artifact: rule.artifact,
        ...(rule.publish ? { publish: rule.publish } : {}),
        ...(rule.link ? { link: rule.link } : {}),
        ...(rule.releasePublish ? { release_publish: rule.releasePublish } : {}),
        ...(rule.releaseLink ? { release_link: rule.releaseLink } : {}),
        ...(rule.commit ? { commit: rule.commit } : {}),
        timeout: formatDuration(rule.timeoutMs),
        memory: rule.memoryBytes,
        pids_limit: rule.pidsLimit,
        ...(rule.capAdd.length ? { cap_add: rule.capAdd } : {}),
        ...(rule.cache?.length ? { cache: rule.cache } : {}),
        log_max_size: rule.logMaxBytes,
        artifact_max_size: rule.artifactMaxBytes,
        cancel_running: rule.cancelRunning,
        ...(rule.branches ? { branches: rule.branches } : {}),
        ...(rule.tags ? { tags: rule.tags } : {}),
        repository_config: rule.repositoryConfig,
        ...(rule.trustedAuthors?.length ? { trusted_authors: rule.trustedAuthors } : {}),
        ...(rule.secrets && Object.keys(rule.secrets).length
          ? { secrets: Object.fromEntries(Object.keys(rule.secrets).map((name) => [name, '(set)'])) }
          : {}),
        ...(rule.boot
          ? {
              boot: {
                marker: rule.boot.marker,
                timeout: formatDuration(rule.boot.timeoutMs),
                memory: rule.boot.memoryBytes,
                append: rule.boot.append,
                ...(rule.boot.initrd ? { initrd: rule.boot.initrd } : {}),
                accel: rule.boot.accel,
              },
            }
          : {}),
      },
    ]),
  );
  return `# effective config from ${config.source} (revision ${config.revision})\n${stringify({
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
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    engines: config.engines.map(({ fromEnvironment, ...e }) => e),
    ...(config.registry ? { registry: config.registry } : {}),
    max_queued_per_repository: config.queueLimits.perRepository,
    max_queued: config.queueLimits.total,
    grace_period: formatDuration(config.gracePeriodMs),
    replicas: {
      lease: formatDuration(config.replicas.leaseMs),
      renew: formatDuration(config.replicas.renewMs),
      poll: formatDuration(config.replicas.pollMs),
      cancel_wait: formatDuration(config.replicas.cancelWaitMs),
    },
    debug: config.debug,
    git: { url: config.gitUrl },
    github: {
      token: config.github.token ? '(set)' : '(none: no commit statuses)',
      api_url: config.github.apiUrl,
      context: config.github.context,
      web_url: config.github.webUrl ?? '(none: no commit links)',
    },
    retention: {
      keep: config.retention.keep,
      interval: formatDuration(config.retention.intervalMs),
      image_age: formatDuration(config.retention.imageAgeMs),
    },
    cache_max_size: config.caches.maxBytes,
    cache_max_age: formatDuration(config.caches.maxAgeMs),
    streams: {
      max_watchers: config.streams.maxWatchers,
      max_watchers_per_address: config.streams.maxWatchersPerAddress,
      max_unread: config.streams.maxUnreadBytes,
    },
    ...(config.profile ? { profile: config.profile } : {}),
    repositories,
  })}`;
}
