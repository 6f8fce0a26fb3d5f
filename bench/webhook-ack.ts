/**
 * Webhook acknowledgement, measured from outside: the real service (`node dist/cli.js serve`,
 * SQLite file, queue paused so the builds stay queued) and, as the baseline, a bare fastify
 * (bench/bare-server.ts), each in a process of its own. Rounds of signed 8 KB pushes at c=16,
 * a new connection per request, interleaved (bare, service, bare, service…) so both see the same
 * machine. Twice: on an empty database and on one pre-seeded with 100k builds of the pushed
 * repository. Counts rows afterwards: no push lost or doubled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { fail, figure } from './report.js';
import { runLoad, type LoadResult } from './run-load.js';
import { seedBuilds } from './seed-builds.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SEEDED = Number(process.env.BENCH_BUILDS ?? 100_000);
const CONCURRENCY = 16;
/** USER_HZ: /proc counts CPU time in these (100 on Linux everywhere that matters). */
const TICKS_PER_SECOND = 100;
const SECRET = 'bench-secret';
/** `--cpu-prof` flags for the service (BENCH_CPU_PROF=<dir>): where the time goes. */
const PROFILE = process.env.BENCH_CPU_PROF;

interface Bare {
  url: string;
  child: ChildProcess;
}

async function startBare(): Promise<Bare> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}/build/bench/hook`, child };
}

async function startService(seed: number): Promise<ServiceProcess> {
  const service = new ServiceProcess('ab-bench-hook-', {
    dist: true,
    nodeArgs: [
      ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []),
      ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []),
    ],
  });
  service.configure({
    token: SECRET,
    repositories: {
      'bench/os': {
        image: 'autobuilder-test/busybox:latest',
        checkout: '/src',
        steps: ['true'],
        network: 'none',
      },
    },
  });
  if (seed > 0) {
    await service.start(); // migrates the new database
    await service.stop('SIGTERM');
    seedBuilds(join(service.home, 'data', 'autobuilder.db'), seed, {
      repository: () => 'bench/os',
      branch: (i) => `b${i % 50}`,
    });
  }
  await service.start();
  const paused = await fetch(`${service.url}/api/queue/pause`, { method: 'POST' });
  if (!paused.ok) fail(`pausing the queue answered ${paused.status}`);
  return service;
}

const load = (url: string, offset: number): Promise<LoadResult> =>
  runLoad({ url, concurrency: CONCURRENCY, offset, requests: REQUESTS, secret: SECRET, newConnection: true });

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc; with `thread`, only its
 * main thread's (the event loop's: its task id is the process id).
 */
function cpuMs(pid: number | undefined, thread = false): number {
  const path = thread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function variant(bare: Bare, seed: number, label: string): Promise<string[]> {
  const bareUrl = bare.url;
  const service = await startService(seed);
  const lines: string[] = [];
  const url = `${service.url}/build/bench/hook`;
  try {
    // Warm-up: both processes compile their hot paths before anything is counted.
    await load(bareUrl, 0);
    const warm = await load(url, 1_000_000);
    if (warm.errors > 0) fail(`${warm.errors} webhook requests failed (${label}, warm-up)`);
    const bareRps: number[] = [];
    const ours: number[] = [];
    const cpu = { bare: 0, ours: 0, bareLoop: 0, ourLoop: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      let before = cpuMs(bare.child.pid);
      let loop = cpuMs(bare.child.pid, true);
      const baseline = await load(bareUrl, 0);
      cpu.bare += cpuMs(bare.child.pid) - before;
      cpu.bareLoop += cpuMs(bare.child.pid, true) - loop;
      before = cpuMs(service.pid);
      loop = cpuMs(service.pid, true);
      const measured = await load(url, round * REQUESTS);
      cpu.ours += cpuMs(service.pid) - before;
      cpu.ourLoop += cpuMs(service.pid, true) - loop;
      if (measured.errors > 0)
        fail(`${measured.errors} webhook requests failed (${label}, round ${round + 1})`);
      bareRps.push(baseline.rps);
      ours.push(measured.rps);
      lines.push(
        figure(`webhook ${label} round ${round + 1} throughput`, measured.rps, 'req/s', baseline.rps),
      );
      lines.push(figure(`webhook ${label} round ${round + 1} p99`, measured.p99, 'ms', baseline.p99));
    }
    lines.push(figure(`webhook ${label} median throughput`, median(ours), 'req/s', median(bareRps)));
    // On a loaded machine throughput follows the CPU each request costs: the steadier figure.
    const perPush = (ms: number) => ms / (ROUNDS * REQUESTS);
    lines.push(figure(`webhook ${label} server CPU per push`, perPush(cpu.ours), 'ms', perPush(cpu.bare)));
    // The event loop's share: what bounds one process's throughput (the rest runs on other threads).
    lines.push(
      figure(`webhook ${label} event loop CPU per push`, perPush(cpu.ourLoop), 'ms', perPush(cpu.bareLoop)),
    );
    lines.push(figure(`webhook ${label} last round / first round`, ours.at(-1)!, 'req/s', ours[0]));
    if (PROFILE || process.env.BENCH_NODE_ARGS) await service.stop('SIGTERM'); // --cpu-prof writes its file on a clean exit
  } finally {
    await service.close();
  }
  const db = new Database(join(service.home, 'data', 'autobuilder.db'), { readonly: true });
  const pushed = (
    db.prepare(`SELECT count(*) AS n FROM builds WHERE delivery_id LIKE 'bench-%'`).get() as { n: number }
  ).n;
  db.close();
  const sent = (ROUNDS + 1) * REQUESTS;
  lines.push(figure(`webhook ${label} builds recorded / pushes sent`, pushed, `rows of ${sent}`, sent));
  await service.close(true);
  if (pushed !== sent) fail(`expected ${sent} builds, found ${pushed}`);
  return lines;
}

export async function benchWebhook(): Promise<string[]> {
  const bare = await startBare();
  try {
    return [
      ...(await variant(bare, 0, 'c=16 empty')),
      ...(await variant(bare, SEEDED, `c=16 ${SEEDED / 1000}k builds`)),
    ];
  } finally {
    bare.child.kill('SIGTERM');
  }
}
