/**
 * Replicas (issue 14): 16 pushes to distinct branches sent at once, each build `sleep 1` on the
 * busybox test image, to one `autobuilder serve` on a PostgreSQL schema (baseline) and then to two
 * on one schema and one engine (pushes alternated). Same settings both times: the local engine at
 * capacity 4, `concurrency` 4 (global over the replicas). Wall time from the first push to every
 * build final; builds/hour = 16 / wall; ratio = 2 replicas / 1. Two rounds in opposite orders; each
 * round also reports the most builds running at once (the global limit holds: 4) and the median
 * build time. On one engine the expected ratio is ≈ 1 (docs/scale-out.md, Replicas).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinal, type Build } from '../src/domain/build.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { waitFor } from '../test/helpers/harness.js';
import { createTestSchema, postgresUrl } from '../test/helpers/postgres-schema.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../test/helpers/webhook.js';
import { fail, figure, percentile } from './report.js';

const BUILDS = 16;
const SECRET = 'bench-replicas';
const rule = {
  image: TEST_IMAGE,
  checkout: '/src',
  network: 'none',
  steps: ['sleep 1', 'cp /src/kernel /target/vmlinuz.efi'],
  publish: 'os-{branch}-{short}.efi',
};

interface Run {
  seconds: number;
  perReplica: number[];
  /** Most builds running at one moment (from their start and end times): the global limit holds. */
  peak: number;
  /** Median time a build was running (claim to final), in seconds. */
  median: number;
}

function peakRunning(builds: Build[]): number {
  const edges = builds.flatMap((b) => [
    { at: Date.parse(b.startedAt!), step: 1 },
    { at: Date.parse(b.finishedAt!), step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let running = 0;
  let peak = 0;
  for (const edge of edges) peak = Math.max(peak, (running += edge.step));
  return peak;
}

async function wallTime(replicaCount: number): Promise<Run> {
  const schema = await createTestSchema('ab_bench_replicas');
  const shared = mkdtempSync(join(tmpdir(), 'ab-bench-replicas-'));
  const gitRoot = join(shared, 'git');
  const replicas: ServiceProcess[] = [];
  let store: PostgresStore | undefined;
  try {
    const instances: string[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const replica = new ServiceProcess(`ab-bench-replica-${i}-`, { dist: true });
      replicas.push(replica);
      replica.configure({
        token: SECRET,
        concurrency: 4,
        engines: [{ name: 'local', url: 'unix:///var/run/docker.sock', capacity: 4 }],
        database_url: schema.url,
        logs_directory: join(shared, 'logs'),
        kernel_target: join(shared, 'kernels'),
        git: { url: `${gitRoot}/{repository}.git` },
        repositories: { 'acme/os': rule },
      });
      await replica.start({ logFile: join(replica.home, 'service.log') });
      instances.push(readFileSync(join(replica.home, 'data', 'instance-id'), 'utf8').trim());
    }
    store = await PostgresStore.open(postgresUrl!, { schema: schema.name });
    // Commits and request bodies first: only the pushes and the builds are timed.
    const repo = new LocalRepo(gitRoot, 'acme/os');
    const bodies = Array.from({ length: BUILDS }, (_, i) => {
      const commit = repo.commit(`b${i}`, { kernel: `kernel ${i}\n` });
      return JSON.stringify(pushPayload({ repository: 'acme/os', branch: `b${i}`, commit }));
    });
    const started = performance.now();
    const ids = await Promise.all(
      bodies.map(async (body, i) => {
        const to = replicas[i % replicaCount]!;
        const response = await fetch(`${to.url}/build/bench/hook`, {
          method: 'POST',
          body,
          headers: webhookHeaders(body, { secret: SECRET }),
        });
        if (response.status !== 202) fail(`push ${i}: HTTP ${response.status}`);
        return ((await response.json()) as { id: number }).id;
      }),
    );
    const builds = await waitFor(async () => {
      const all = await Promise.all(ids.map((id) => store!.getBuild(id)));
      return all.every((b) => b && isFinal(b.state)) ? (all as Build[]) : undefined;
    }, 300_000);
    const seconds = (performance.now() - started) / 1000;
    const failed = builds.find((b) => b.state !== 'success');
    if (failed) fail(`build #${failed.id} ended ${failed.state}: ${failed.reason}`);
    const perReplica = instances.map((id) => builds.filter((b) => b.owner === id).length);
    const durations = builds.map((b) => (Date.parse(b.finishedAt!) - Date.parse(b.startedAt!)) / 1000);
    return { seconds, perReplica, peak: peakRunning(builds), median: percentile(durations, 50) };
  } finally {
    for (const replica of replicas) await replica.close(true);
    await store?.close();
    await schema.drop();
    rmSync(shared, { recursive: true, force: true });
  }
}

export async function benchReplicas(): Promise<string[]> {
  if (!postgresUrl) fail('AUTOBUILDER_TEST_POSTGRES_URL is not set (a PostgreSQL server is needed)');
  await requireDocker();
  // Two rounds in opposite orders (1 then 2, 2 then 1): neither variant always runs first on a
  // cold engine or last on a busier machine. Figures are over both rounds together.
  const ones: Run[] = [];
  const twos: Run[] = [];
  const rounds: string[] = [];
  for (const order of [
    [1, 2],
    [2, 1],
  ]) {
    const round: Record<number, Run> = {};
    for (const count of order) round[count] = await wallTime(count);
    ones.push(round[1]!);
    twos.push(round[2]!);
    rounds.push(
      `round ${rounds.length + 1} (${order.join(' then ')}): 1 replica ${round[1]!.seconds.toFixed(1)} s, 2 replicas ${round[2]!.seconds.toFixed(1)} s (builds per replica ${round[2]!.perReplica.join(' + ')}); most running at once ${round[1]!.peak} and ${round[2]!.peak}; median build ${round[1]!.median.toFixed(1)} s and ${round[2]!.median.toFixed(1)} s`,
    );
  }
  const total = (runs: Run[]) => runs.reduce((sum, run) => sum + run.seconds, 0);
  const perHour = (runs: Run[]) => ((BUILDS * runs.length) / total(runs)) * 3600;
  const lines = [
    figure(`${BUILDS} builds, 1 replica, mean wall`, total(ones) / ones.length, 's'),
    figure(
      `${BUILDS} builds, 2 replicas, mean wall`,
      total(twos) / twos.length,
      's',
      total(ones) / ones.length,
    ),
    figure('builds/hour, 2 replicas vs 1', perHour(twos), 'builds/h', perHour(ones)),
  ];
  for (const line of rounds) process.stdout.write(`${line}\n`);
  return [...lines, ...rounds];
}
