/** The `autobuilder` command: serve, config check, trigger, gc (cli.ts loads it). */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { AppError } from './errors.js';
import { loadConfig, type ConfigProblem } from './config/load-config.js';
import { describeConfig } from './config/describe-config.js';
import { REPOSITORY_FILE } from './config/repository-file.js';
import { qemuProblem } from './boot/find-qemu.js';
import { setUpHooks } from './forge/github/webhook-setup.js';
import { createService } from './service.js';
import { isPostgresUrl } from './store/open-store.js';
import { probePostgres } from './store/postgres/connection-error.js';
import { releaseYoungGeneration } from './young-generation.js';
import { fail, load } from './cli/fail.js';
import { checkRepositoryFile } from './cli/check-repository-file.js';
import { collectAll } from './cli/gc.js';

// package.json is one directory up from both src/cli-program.ts and dist/cli-program.js.
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command('autobuilder')
  .description('Webhook-driven Zero-OS kernel build service')
  .version(version, '-V, --version', 'print the version');
program.option(
  '-c, --config <file>',
  'config file (default: $AUTOBUILDER_CONFIG, ./autobuilder.yaml, built-in Zero-OS)',
);

program
  .command('serve')
  .description('run the service (what `npm start` runs)')
  .action(async () => {
    const file = program.opts().config as string | undefined;
    const config = load(file);
    const service = await createService(config, { loadConfig: () => loadConfig({ file }) });
    const address = await service.start();
    releaseYoungGeneration();
    const monitor = `${config.publicUrl}/monitor`;
    const repositories = [...config.rules.keys()];
    service.logger.info(
      { version, address, monitor, config: config.source, repositories },
      `autobuilder listening on ${address}; monitor: ${monitor} (version ${version}, ${repositories.length} repositories, config ${config.source})`,
    );
    let signals = 0;
    const shutdown = (signal: string) => {
      signals += 1;
      if (signals > 1) process.exit(130);
      service.logger.info(
        { signal, graceMs: config.gracePeriodMs },
        'stopping: running builds get the grace period',
      );
      service.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          service.logger.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
    };
    // SIGHUP re-reads the config file; an invalid one is logged with every problem and changes nothing.
    process.on('SIGHUP', () => service.reloadConfig('SIGHUP'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

const configCommand = program.command('config').description('configuration tools');
configCommand
  .command('check [file]')
  .description('validate the config and print the effective one; exit 1 listing every problem')
  .option(
    '--repository-file <path>',
    `validate a repository's ${REPOSITORY_FILE} against the server's rule (with --repository)`,
  )
  .option('--repository <owner/name>', 'the server rule the repository file applies to')
  .action(async (file: string | undefined, options: { repositoryFile?: string; repository?: string }) => {
    const config = load(file ?? program.opts().config);
    if (options.repositoryFile) {
      checkRepositoryFile(config, options.repositoryFile, options.repository);
      return;
    }
    process.stdout.write(describeConfig(config));
    const boot = qemuProblem(config.rules.values());
    if (boot) fail(boot);
    // A PostgreSQL server is tried once (nothing is written); a SQLite file is made by `serve`.
    if (isPostgresUrl(config.databaseUrl)) {
      const problem = await probePostgres(config.databaseUrl);
      if (problem) fail(problem);
      process.stdout.write('# database: reachable\n');
    }
  });

configCommand
  .command('reload')
  .description('make the running service read its config file again (POST /api/config/reload)')
  .option('--url <url>', 'service URL (default: http://127.0.0.1:<http_port>)')
  .action(async (options: { url?: string }) => {
    const config = load(program.opts().config);
    const url = (options.url ?? `http://127.0.0.1:${config.httpPort}`).replace(/\/+$/, '');
    let response: Response;
    try {
      response = await fetch(`${url}/api/config/reload`, {
        method: 'POST',
        headers: config.apiTokens[0] ? { authorization: `Bearer ${config.apiTokens[0]}` } : {},
      });
    } catch (error) {
      fail(`cannot reach ${url}: ${(error as Error).message}`);
    }
    const body = (await response.json().catch(() => ({}))) as {
      message?: string;
      details?: ConfigProblem[];
      revision?: string;
      restartNeeded?: string[];
    };
    if (!response.ok) fail(`${response.status}: ${body.message ?? 'reload failed'}`, body.details ?? []);
    process.stdout.write(`reloaded: revision ${body.revision}\n`);
    if (body.restartNeeded?.length)
      process.stdout.write(`needs a restart to apply: ${body.restartNeeded.join(', ')}\n`);
  });

program
  .command('trigger <repository> <branch>')
  .description('queue a build without GitHub, through the running service')
  .option('--commit <sha>', 'the exact commit (default: the branch head after a fetch)')
  .option('--tag', 'the ref is a tag, not a branch')
  .option('--url <url>', 'service URL (default: http://127.0.0.1:<http_port>)')
  .action(
    async (repository: string, branch: string, options: { commit?: string; url?: string; tag?: boolean }) => {
      const config = load(program.opts().config);
      const url = (options.url ?? `http://127.0.0.1:${config.httpPort}`).replace(/\/+$/, '');
      let response: Response;
      try {
        response = await fetch(`${url}/api/builds`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(config.apiTokens[0] ? { authorization: `Bearer ${config.apiTokens[0]}` } : {}),
          },
          body: JSON.stringify({
            repository,
            [options.tag ? 'tag' : 'branch']: branch,
            ...(options.commit ? { commit: options.commit } : {}),
          }),
        });
      } catch (error) {
        // fetch says only "fetch failed"; why is in its cause (ECONNREFUSED, ENOTFOUND, …).
        const cause = (
          error as Error & { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }
        ).cause;
        const why = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message;
        fail(
          `cannot connect to ${url} (${why}): is the service running at ${url}? (start it with \`autobuilder serve\`, or give --url)`,
        );
      }
      const body = (await response.json().catch(() => ({}))) as {
        id?: number;
        message?: string;
        links?: { monitor?: string };
      };
      if (!response.ok) fail(`${response.status}: ${body.message ?? 'request failed'}`);
      process.stdout.write(`queued build #${body.id} ${body.links?.monitor ?? ''}\n`);
    },
  );

program
  .command('gc')
  .description(
    'apply retention now: old logs and kernels (never a linked one), dangling images of ours, old registry tags, build caches past cache_max_age / cache_max_size',
  )
  .option('--keep <n>', 'builds kept per repository and ref (default: retention.keep)')
  .action(async (options: { keep?: string }) => {
    const config = load(program.opts().config);
    const keep = options.keep === undefined ? config.retention.keep : Number(options.keep);
    if (!Number.isInteger(keep) || keep < 1) fail('--keep must be a whole number >= 1');
    await collectAll(config, keep);
  });

const githubCommand = program.command('github').description('set up the GitHub side');
githubCommand
  .command('hooks')
  .description(
    'create or fix the push webhook of every configured repository (needs github.token and public_url)',
  )
  .option('--dry-run', 'print what would change, change nothing')
  .option('--rotate-secret', 'write the secret again on hooks that exist (GitHub never shows it back)')
  .action(async (options: { dryRun?: boolean; rotateSecret?: boolean }) => {
    const config = load(program.opts().config);
    if (!config.github.token) fail('github.token (env GITHUB_TOKEN) is needed to manage webhooks');
    const host = new URL(config.publicUrl).hostname;
    if (/^(localhost|127\.|\[::1\]$|0\.0\.0\.0$)/.test(host)) {
      fail(`public_url is ${config.publicUrl}: set it to the address GitHub reaches this service at`);
    }
    const changes = await setUpHooks({
      token: config.github.token,
      apiUrl: config.github.apiUrl,
      publicUrl: config.publicUrl,
      secret: config.webhookSecret,
      repositories: [...config.rules.keys()],
      dryRun: options.dryRun,
      rotateSecret: options.rotateSecret,
    });
    const verb = options.dryRun ? { create: 'would create', update: 'would update' } : {};
    for (const change of changes) {
      const action = (verb as Record<string, string>)[change.action] ?? change.action;
      process.stdout.write(`${change.repository}: ${action} ${change.url} (${change.detail})\n`);
    }
    if (!config.webhookSecret)
      process.stdout.write('note: no webhook secret is set (webhook_secret, TOKEN): hooks are unsigned\n');
    if (changes.some((c) => c.action === 'error')) process.exit(1);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Errors that are values (a database that cannot be reached, say) are one line for the
  // operator, not a stack trace; anything else is a bug and keeps its trace.
  if (error instanceof AppError) fail(error.message);
  throw error;
}
