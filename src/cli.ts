/** The `autobuilder` command: serve, config check, trigger, gc. */
import { Command } from 'commander';
import { AppError } from './errors.js';
import { loadConfig, type ConfigProblem } from './config/load-config.js';
import { describeConfig } from './config/describe-config.js';
import { collectGarbage } from './artifacts/retention.js';
import { DockerExecutor } from './executor/docker/docker-executor.js';
import { serviceInstance } from './config/service-instance.js';
import { createService } from './service.js';
import { openStore } from './store/open-store.js';

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

const program = new Command('autobuilder').description('Webhook-driven Zero-OS kernel build service');
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
    service.logger.info(
      { address, config: config.source, repositories: [...config.rules.keys()] },
      'autobuilder listening',
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
  .action((file?: string) => {
    const config = load(file ?? program.opts().config);
    process.stdout.write(describeConfig(config));
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
      fail(`cannot reach ${url}: ${(error as Error).message}`);
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

await program.parseAsync(process.argv);
