/**
 * Log pipeline: a step prints 200 MB of short lines. Build wall time against `docker run` of the
 * same command with output to /dev/null; peak RSS of the service process (its own process, so the
 * figure is the service's alone); bytes on disk against bytes printed, and the line times kept
 * beside the log against the log.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isFinal, type Build } from '../src/domain/build.js';
import { timesPath } from '../src/domain/log-files.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { waitFor } from '../test/helpers/harness.js';
import { buildSeconds, timeDockerRun } from './build-timing.js';
import { fail, figure } from './report.js';

const MB = Number(process.env.BENCH_LOG_MB ?? 200);
const LINE = 'autobuilder log pipeline line, fifty bytes long..';
const COMMAND = `yes '${LINE}' | head -c ${MB * 1024 * 1024}`;

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

export async function benchLogPipeline(): Promise<string[]> {
  await requireDocker();
  const home = mkdtempSync(join(tmpdir(), 'ab-bench-log-'));
  const port = 30000 + Math.floor(Math.random() * 20000);
  const repo = new LocalRepo(join(home, 'git'), 'bench/log');
  const sha = repo.commit('master', { a: '1' });
  const configFile = join(home, 'autobuilder.yaml');
  writeFileSync(
    configFile,
    stringify({
      http_port: port,
      host: '127.0.0.1',
      data_directory: join(home, 'data'),
      git: { url: `${home}/git/{repository}.git` },
      repositories: {
        'bench/log': {
          image: TEST_IMAGE,
          checkout: '/src',
          steps: [COMMAND, 'echo k > /target/vmlinuz.efi'],
          network: 'none',
        },
      },
    }),
  );
  // The service as `npm start` runs it: compiled JavaScript in its own process.
  if (!existsSync('dist/cli.js')) fail('dist/cli.js is missing: run `npm run build` first');
  const child = spawn(process.execPath, ['dist/cli.js', '--config', configFile, 'serve'], {
    stdio: 'ignore',
  });
  try {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
      30_000,
    );
    const idleRss = peakRssMb(child.pid!);
    const baseline = await timeDockerRun(['--network', 'none', TEST_IMAGE, 'sh', '-c', COMMAND]);
    const response = await fetch(`http://127.0.0.1:${port}/api/builds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'bench/log', branch: 'master', commit: sha }),
    });
    const { id } = (await response.json()) as { id: number };
    const build = await waitFor(async () => {
      const b = (await (await fetch(`http://127.0.0.1:${port}/api/builds/${id}`)).json()) as Build;
      return isFinal(b.state) ? b : undefined;
    }, 600_000);
    if (build.state !== 'success') fail(`log build ended ${build.state}: ${build.reason}`);
    const peak = peakRssMb(child.pid!);
    const log = readFileSync(build.logPath!);
    const markers = log
      .toString('latin1')
      .split('\n')
      .filter((line) => line.startsWith('==> ') || line.startsWith('    '))
      .reduce((sum, line) => sum + line.length + 1, 0);
    const printed = MB * 1024 * 1024;
    const onDisk = statSync(build.logPath!).size - markers;
    // The line times beside the log (log-times.ts): their cost in bytes against the log's.
    const times = existsSync(timesPath(build.logPath!)) ? statSync(timesPath(build.logPath!)).size : 0;
    return [
      figure(`log ${MB} MB build wall time`, buildSeconds(build), 's', baseline.totalMs / 1000),
      figure('log peak RSS of the service', peak, 'MB', idleRss),
      figure('log bytes on disk / bytes printed', onDisk, 'bytes', printed),
      figure('log line times beside it / log bytes', times, 'bytes', statSync(build.logPath!).size),
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
}
