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
import { readLineTimes } from '../src/live/log-times.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { waitFor } from '../test/helpers/harness.js';
import { buildSeconds, timeDockerRun } from './build-timing.js';
import { fail, figure } from './report.js';

const MB = Number(process.env.BENCH_LOG_MB ?? 200);
const LINE = 'autobuilder log pipeline line, fifty bytes long..';
const COMMAND = `yes '${LINE}' | head -c ${MB * 1024 * 1024}`;

/** CPU seconds (user + system) the process has used so far, from /proc (100 ticks a second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/**
 * Where the build's wall time went, from the line times beside the log: each marker line (`==> `)
 * and the first and last output line of step 1, in seconds after the build's start. The time of a
 * line is when it reached the log (a marker: when the pipeline wrote it).
 */
async function phases(build: Build, log: string): Promise<string> {
  const lines = log.split('\n');
  const { times } = await readLineTimes(build.logPath!, 1, lines.length);
  const at = (line: number) => {
    let ms = Number.NaN;
    for (const [from, time] of times) if (from <= line) ms = time;
    return ms;
  };
  const start = Date.parse(build.startedAt!);
  const marks: string[] = [];
  const step1 = lines.findIndex((l) => l.startsWith('==> step 1/'));
  const step2 = lines.findIndex((l) => l.startsWith('==> step 2/'));
  for (const [index, text] of lines.entries()) {
    let name: string | null = null;
    if (text.startsWith('==> ')) name = text.slice(4).split(/[ :]/)[0]!;
    else if (index === step1 + 1) name = 'first-output';
    else if (index === step2 - 1) name = 'last-output';
    if (name) marks.push(`${name} ${((at(index + 1) - start) / 1000).toFixed(2)}`);
  }
  marks.push(`finished ${((Date.parse(build.finishedAt!) - start) / 1000).toFixed(2)}`);
  return `log build phases (s after start): ${marks.join(', ')}`;
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
  // The service as `npm start` runs it: compiled JavaScript in its own process. BENCH_SERVICE_CLI
  // runs another build of it (a copy of dist/ from an earlier commit) for a same-minute A/B.
  const cli = process.env.BENCH_SERVICE_CLI ?? 'dist/cli.js';
  if (!existsSync(cli)) fail(`${cli} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [cli, '--config', configFile, 'serve'], {
    stdio: 'ignore',
  });
  try {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
      30_000,
    );
    const idleRss = peakRssMb(child.pid!);
    const baseline = await timeDockerRun(['--network', 'none', TEST_IMAGE, 'sh', '-c', COMMAND]);
    const cpuBefore = cpuSeconds(child.pid!);
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
    // The service's CPU over the build (and the polling above, a request every 25 ms).
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    if (build.state !== 'success') fail(`log build ended ${build.state}: ${build.reason}`);
    const peak = peakRssMb(child.pid!);
    const log = readFileSync(build.logPath!);
    const timeline = await phases(build, log.toString('latin1'));
    process.stdout.write(`${timeline}\n`);
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
      figure('log service CPU during the build / build wall', cpu, 's', buildSeconds(build)),
      figure('log peak RSS of the service', peak, 'MB', idleRss),
      figure('log bytes on disk / bytes printed', onDisk, 'bytes', printed),
      figure('log line times beside it / log bytes', times, 'bytes', statSync(build.logPath!).size),
      timeline,
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
}
