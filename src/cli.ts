/** The `autobuilder` command: serve, config check, trigger, gc. */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { AppError } from './errors.js';
import { loadConfig, type ConfigProblem } from './config/load-config.js';
import { describeConfig } from './config/describe-config.js';
import { collectGarbage } from './artifacts/retention.js';
import { DockerExecutor } from './executor/docker/docker-executor.js';
import { serviceInstance } from './config/service-instance.js';
import { setUpHooks } from './forge/github/webhook-setup.js';
import { createService } from './service.js';
import { openStore } from './store/open-store.js';
import { probePostgres } from './store/postgres/connection-error.js';

function fail(message: string, problems: ConfigProblem[] = []): never {
  process.stderr.write(`autobuilder: ${message}\n`);
  for (const problem of problems)
    process.stderr.write(`  - ${problem.path || '(top)'}: ${problem.message}\n`);
  process.exit(1);
}

function load(file?: string) {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof AppError) fail(error.message, (error.details as ConfigProblem[]) ?? []);
    throw error;
  }
}

// package.json is one directory up from both src/cli.ts and dist/cli.js.
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
    const config = load(program.opts().config);
    const service = await createService(config);
    const address = await service.start();
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
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

const configCommand = program.command('config').description('configuration tools');
configCommand
  .command('check [file]')
  .description('validate the config and print the effective one; exit 1 listing every problem')
  .action(async (file?: string) => {
    const config = load(file ?? program.opts().config);
    process.stdout.write(describeConfig(config));
    // A PostgreSQL server is tried once (nothing is written); a SQLite file is made by `serve`.
    if (config.databaseUrl.startsWith('postgres')) {
      const problem = await probePostgres(config.databaseUrl);
      if (problem) fail(problem);
      process.stdout.write('# database: reachable\n');
    }
  });

program
  .command('trigger <repository> <branch>')
  .description('queue a build without GitHub, through the running service')
  .option('--commit <sha>', 'the exact commit (default: the branch head after a fetch)')
  .option('--url <url>', 'service URL (default: http://127.0.0.1:<http_port>)')
  .action(async (repository: string, branch: string, options: { commit?: string; url?: string }) => {
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
        body: JSON.stringify({ repository, branch, ...(options.commit ? { commit: options.commit } : {}) }),
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
  });

program
  .command('gc')
  .description('apply retention now: old logs and kernels (never a linked one), dangling images of ours')
  .option('--keep <n>', 'builds kept per repository and ref (default: retention.keep)')
  .action(async (options: { keep?: string }) => {
    const config = load(program.opts().config);
    const keep = options.keep === undefined ? config.retention.keep : Number(options.keep);
    if (!Number.isInteger(keep) || keep < 1) fail('--keep must be a whole number >= 1');
    const store = await openStore(config.databaseUrl);
    const executor = new DockerExecutor(undefined, serviceInstance(config));
    const engine = await executor.ping().then(
      () => executor,
      (error: Error) => {
        process.stderr.write(`autobuilder: ${error.message}; images are left alone\n`);
        return null;
      },
    );
    try {
      const result = await collectGarbage({
        store,
        executor: engine,
        kernelTarget: config.kernelTarget,
        keep,
      });
      process.stdout.write(
        `pruned ${result.builds} builds: ${result.logs} logs, ${result.kernels} kernels, ${result.images} images\n`,
      );
    } finally {
      await store.close();
    }
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
