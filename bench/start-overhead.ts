/**
 * Start overhead, measured from outside as a user sees it: the compiled service in its own process
 * (`node dist/cli.js serve`, SQLite file), a signed push webhook in over HTTP, and the build's first
 * step line read from the build's live log stream (`/api/builds/:id/log/stream`, Server-Sent
 * Events, what the monitor's build page reads). Baseline: `docker run --rm --network none <image>
 * sh -c 'echo …'` of the same image, first line on its stdout. Interleaved (the order swaps every
 * round), median of BENCH_RUNS (default 11), after one unmeasured round of each (the mirror's first
 * clone, the first stream).
 *
 * The stream can only be opened once the webhook's answer names the build: it is opened right
 * after it. A line that was already in the log by then is replayed from the file, so the time is
 * always when the line is seen at the client, never earlier than it was. The same run also prints
 * the timeline of a start (docs/benchmarks.md, "Start overhead: where the time goes") from the
 * build's record and the line times kept beside its log (log-times.ts), all on this machine's
 * clock, median per point.
 */
import { existsSync, readFileSync } from 'node:fs';
import { timesPath } from '../src/domain/log-files.js';
import type { Build } from '../src/domain/build.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../test/helpers/webhook.js';
import { timeDockerRun } from './build-timing.js';
import { fail, figure, percentile } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const SECRET = 'bench-secret';
const MARKER = 'first-line-of-step';
const REPOSITORY = 'bench/start';

/** Milliseconds after the webhook was sent, per point of the timeline. */
type Timeline = Record<string, number>;

interface ServiceRun {
  /** Webhook sent → the first step's line seen on the build's SSE stream. */
  firstMs: number;
  timeline: Timeline;
}

/** Reads SSE `data:` lines of the log stream until a log line equal to MARKER; then to the end. */
async function readUntilMarker(url: string, sent: number, timeline: Timeline): Promise<number> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
  if (!response.ok || !response.body) fail(`log stream answered ${response.status}`);
  timeline['stream open (client)'] = Date.now() - sent;
  const decoder = new TextDecoder();
  let frames = '';
  let text = '';
  let seenMs = Number.NaN;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    frames += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = frames.indexOf('\n\n')) !== -1) {
      const frame = frames.slice(0, end);
      frames = frames.slice(end + 2);
      if (/^event: /m.test(frame)) continue; // build changes and the final `end`
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (!data) continue;
      text += (JSON.parse(data) as { text: string }).text;
      if (Number.isNaN(seenMs) && text.split('\n').includes(MARKER)) seenMs = performance.now();
    }
  }
  if (Number.isNaN(seenMs)) fail(`the stream ended without the line ${MARKER}:\n${text}`);
  return seenMs;
}

/** When each line of a finished build's log arrived (epoch ms), from the times beside it. */
function lineTimes(logPath: string): { line: string; ms: number }[] {
  const lines = readFileSync(logPath, 'utf8').split('\n');
  if (!existsSync(timesPath(logPath))) return [];
  const records = readFileSync(timesPath(logPath), 'utf8')
    .trim()
    .split('\n')
    .map((r) => r.split(' ').map(Number) as [number, number]);
  return lines.map((line, i) => {
    let ms = Number.NaN;
    for (const [from, at] of records) if (from <= i + 1) ms = at;
    return { line, ms };
  });
}

async function oneServiceRun(service: ServiceProcess, repo: LocalRepo, n: number): Promise<ServiceRun> {
  const sha = repo.commit('master', { n: String(n) });
  const body = JSON.stringify(pushPayload({ repository: REPOSITORY, branch: 'master', commit: sha }));
  const headers = webhookHeaders(body, { secret: SECRET });
  const timeline: Timeline = {};
  const sent = Date.now();
  const started = performance.now();
  const response = await fetch(`${service.url}/build/bench/hook`, { method: 'POST', body, headers });
  if (!response.ok) fail(`the webhook answered ${response.status}: ${await response.text()}`);
  timeline['webhook answered (client)'] = Date.now() - sent;
  const { id } = (await response.json()) as { id: number };
  const seen = await readUntilMarker(`${service.url}/api/builds/${id}/log/stream`, sent, timeline);
  const firstMs = seen - started;
  const build = (await (await fetch(`${service.url}/api/builds/${id}`)).json()) as Build;
  if (build.state !== 'success') fail(`build #${id} ended ${build.state}: ${build.reason}`);
  timeline['stored (createdAt)'] = Date.parse(build.createdAt) - sent;
  timeline['claimed (startedAt)'] = Date.parse(build.startedAt!) - sent;
  const times = lineTimes(build.logPath!);
  const at = (test: (line: string) => boolean) => times.find((t) => test(t.line))?.ms ?? Number.NaN;
  timeline['log: ==> build (pipeline begins)'] = at((l) => l.startsWith('==> build #')) - sent;
  timeline['log: ==> image (resolved; held until the repository file is read)'] =
    at((l) => l.startsWith('==> image')) - sent;
  timeline['log: ==> source (container made, the repository file read)'] =
    at((l) => l.startsWith('==> source')) - sent;
  timeline['log: ==> step 1/2 (its source goes to its stdin now)'] =
    at((l) => l.startsWith('==> step 1/')) - sent;
  timeline['log: first output line (arrived in BuildLog)'] = at((l) => l === MARKER) - sent;
  timeline['SSE: first output line (client)'] = firstMs;
  return { firstMs, timeline };
}

async function oneBaseline(): Promise<number> {
  const run = await timeDockerRun(['--network', 'none', TEST_IMAGE, 'sh', '-c', `echo ${MARKER}`], MARKER);
  return run.firstMs;
}

export async function benchStartOverhead(): Promise<string[]> {
  await requireDocker();
  if (!existsSync('dist/cli.js')) fail('dist/cli.js is missing: run `npm run build` first');
  const service = new ServiceProcess('ab-bench-start-', { dist: true });
  service.configure({
    token: SECRET,
    repositories: {
      [REPOSITORY]: {
        image: TEST_IMAGE,
        checkout: '/src',
        // The first step is the baseline's command; the second gives the build its kernel to
        // publish (after the timed line, so it costs the figure nothing).
        steps: [`echo ${MARKER}`, 'echo k > /target/vmlinuz.efi'],
        network: 'none',
      },
    },
  });
  const repo = new LocalRepo(service.gitRoot, REPOSITORY);
  const ours: ServiceRun[] = [];
  const baseline: number[] = [];
  try {
    await service.start();
    // Warm-up, not counted: the mirror's first clone, the first stream, docker's first run.
    await oneServiceRun(service, repo, -1);
    await oneBaseline();
    for (let i = 0; i < RUNS; i += 1) {
      // Interleaved, the order swapped every round: neither side always follows the other.
      if (i % 2 === 0) {
        baseline.push(await oneBaseline());
        ours.push(await oneServiceRun(service, repo, i));
      } else {
        ours.push(await oneServiceRun(service, repo, i));
        baseline.push(await oneBaseline());
      }
    }
  } finally {
    await service.stop('SIGTERM');
    await service.close(true);
  }
  // Kept in the section too: where the time went in this very run.
  const median = (point: string) =>
    percentile(
      ours.map((r) => r.timeline[point]!),
      50,
    );
  const timeline = [
    'timeline of a start, ms after the webhook was sent (median of the runs):',
    ...Object.keys(ours[0]!.timeline)
      .sort((a, b) => median(a) - median(b))
      .map((point) => `  ${median(point).toFixed(0).padStart(5)}  ${point}`),
  ];
  process.stdout.write(`${timeline.join('\n')}\n`);
  const service_ = ours.map((r) => r.firstMs);
  // The log's own share: from the line's arrival in the service to the client seeing it.
  const delivery = ours.map(
    (r) =>
      r.timeline['SSE: first output line (client)']! -
      r.timeline['log: first output line (arrived in BuildLog)']!,
  );
  return [
    figure('start: first line arrived → seen on the stream, median', percentile(delivery, 50), 'ms'),
    figure('start: first line arrived → seen on the stream, max', Math.max(...delivery), 'ms'),
    figure(
      'start overhead median (webhook → first step line)',
      percentile(service_, 50),
      'ms',
      percentile(baseline, 50),
    ),
    figure('start overhead max', Math.max(...service_), 'ms', Math.max(...baseline)),
    ...timeline,
  ];
}
