/**
 * Log wall bounds (issue 17): where a 200 MB step's time goes on this engine, layer by layer, in
 * one run and interleaved so the machine's load hits every variant alike. `npx tsx
 * bench/log-bounds.ts` (BENCH_LOG_MB, BENCH_ROUNDS change the size and the repeats):
 * - `docker run` with the output to /dev/null inside the container (the program alone) and
 *   outside it (the baseline);
 * - an exec in a running container through dockerode: the stream discarded, then through
 *   FrameDemuxer only, then into a BuildLog on disk (what the executor does).
 * Each exec figure is from `exec create` to `exec inspect` after the stream ended, with this
 * process's CPU time over it and the count and mean size of the chunks the socket delivered.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { FrameDemuxer } from '../src/executor/docker/frame-demuxer.js';
import { BuildLog } from '../src/live/build-log.js';
import { EventBus } from '../src/live/event-bus.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';

const MB = Number(process.env.BENCH_LOG_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GULP_MS = Number(process.env.GULP_MS ?? 2);
const LINE = 'autobuilder log pipeline line, fifty bytes long..';
const COMMAND = `yes '${LINE}' | head -c ${MB * 1024 * 1024}`;

/** CPU seconds (user + system) a process has used so far, from /proc (100 ticks a second). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The first process whose command line `match` accepts (the engine, a container's shim). */
function findProcess(match: (args: string[]) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (match(args)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/** The default engine's dockerd: the one started without a data root of its own. */
const dockerd = findProcess((args) => args[0]?.endsWith('dockerd') === true && args.length === 1);

/** The first 20 MB of a discarded stream, as the socket chunked it, replayed in-process below. */
const RECORD_BYTES = 20 * 1024 * 1024;
const recorded: Buffer[] = [];
let recordedBytes = 0;

/**
 * CPU milliseconds per 200 MB to demux the recorded chunks and write them into a BuildLog: the
 * service's part alone, without the engine competing for the cores (the frame the recording
 * cuts stays pending, as in a stream that ends mid-frame).
 */
function replay(Demuxer: typeof FrameDemuxer, Log: typeof BuildLog, home: string): number {
  const reps = 5;
  const cpu = process.cpuUsage();
  for (let rep = 0; rep < reps; rep++) {
    const log = new Log(join(home, `replay-${rep}.log`), rep, new EventBus());
    const demuxer = new Demuxer((payload, kind) => log.output(payload, kind));
    for (const chunk of recorded) demuxer.push(chunk);
    log.close();
  }
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) / 1000 / reps) * ((200 * 1024 * 1024) / recordedBytes);
}

type Sink = 'discard' | 'discard-gulp' | 'demux' | 'buildlog' | 'buildlog-before';

/**
 * BENCH_BEFORE_DIST: a dist/ built from an earlier commit; the `buildlog-before` sink runs its
 * FrameDemuxer and BuildLog, for an A/B in the same minute.
 */
const before = process.env.BENCH_BEFORE_DIST;
const Before = before
  ? {
      FrameDemuxer: (
        (await import(`${process.cwd()}/${before}/executor/docker/frame-demuxer.js`)) as {
          FrameDemuxer: typeof FrameDemuxer;
        }
      ).FrameDemuxer,
      BuildLog: (
        (await import(`${process.cwd()}/${before}/live/build-log.js`)) as { BuildLog: typeof BuildLog }
      ).BuildLog,
    }
  : null;

function dockerRun(inner: boolean): string {
  const engineCpu = cpuSeconds(dockerd);
  const started = performance.now();
  const command = inner ? `${COMMAND} > /dev/null` : COMMAND;
  const result = spawnSync('docker', ['run', '--rm', '--network', 'none', TEST_IMAGE, 'sh', '-c', command], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`docker run exited ${result.status}`);
  const seconds = (performance.now() - started) / 1000;
  return `${seconds.toFixed(2)} s, dockerd CPU ${((cpuSeconds(dockerd) - engineCpu) * 1000).toFixed(0)} ms`;
}

async function execInto(container: Docker.Container, sink: Sink, home: string, round: number) {
  const shim = findProcess((args) => args.includes(container.id));
  const engineCpu = cpuSeconds(dockerd);
  const shimCpu = cpuSeconds(shim);
  const cgroupCpu = await containerCpu(container);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const exec = await container.exec({
    Cmd: ['sh', '-c', `exec 2>&1; ${COMMAND}`],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Readable;
  const attached = performance.now();
  let log: Pick<BuildLog, 'output' | 'close'> | null = null;
  const Log = sink === 'buildlog-before' ? Before!.BuildLog : BuildLog;
  const Demuxer = sink === 'buildlog-before' ? Before!.FrameDemuxer : FrameDemuxer;
  if (sink.startsWith('buildlog')) log = new Log(join(home, `build-${round}.log`), round, new EventBus());
  const demuxer = new Demuxer((payload, kind) => log?.output(payload, kind));
  let chunks = 0;
  let bytes = 0;
  let firstByte = 0;
  let paused = false;
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      if (chunks === 0) firstByte = performance.now();
      chunks++;
      bytes += chunk.length;
      if (sink === 'discard' && recordedBytes < RECORD_BYTES) {
        recorded.push(chunk);
        recordedBytes += chunk.length;
      }
      if (sink === 'discard-gulp' && !paused) {
        paused = true;
        stream.pause();
        setTimeout(() => {
          paused = false;
          stream.resume();
        }, GULP_MS);
      }
      if (!sink.startsWith('discard')) demuxer.push(chunk);
    });
    stream.on('end', resolve);
    stream.on('close', resolve);
  });
  const streamEnd = performance.now();
  log?.close();
  const info = await exec.inspect();
  const done = performance.now();
  const used = process.cpuUsage(cpu);
  const engineMs = (cpuSeconds(dockerd) - engineCpu) * 1000;
  const shimMs = (cpuSeconds(shim) - shimCpu) * 1000;
  const containerMs = (await containerCpu(container)) - cgroupCpu;
  if (info.ExitCode !== 0) throw new Error(`exec exited ${info.ExitCode}`);
  return {
    totalMs: done - started,
    createStartMs: attached - started,
    firstByteMs: firstByte - attached,
    streamMs: streamEnd - firstByte,
    inspectMs: done - streamEnd,
    cpuMs: (used.user + used.system) / 1000,
    engineMs,
    shimMs,
    containerMs,
    chunks,
    meanChunk: bytes / chunks,
  };
}

/** CPU milliseconds the container's processes (the step: yes, head, sh) have used so far. */
async function containerCpu(container: Docker.Container): Promise<number> {
  const stats = (await container.stats({ stream: false })) as {
    cpu_stats: { cpu_usage: { total_usage: number } };
  };
  return stats.cpu_stats.cpu_usage.total_usage / 1e6;
}

const docker = await requireDocker();
const home = mkdtempSync(join(tmpdir(), 'ab-bench-bounds-'));
const container = await docker.createContainer({
  Image: TEST_IMAGE,
  Cmd: ['sleep', '3600'],
  Labels: { 'org.zero-os.autobuilder.bench': 'log-bounds' },
  HostConfig: { NetworkMode: 'none' },
});
await container.start();
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
    process.stdout.write(`round ${round} (load ${load})\n`);
    process.stdout.write(`  docker run, > /dev/null inside: ${dockerRun(true)}\n`);
    process.stdout.write(`  docker run > /dev/null (baseline): ${dockerRun(false)}\n`);
    for (const sink of (process.env.SINKS ?? 'discard,discard-gulp,demux,buildlog').split(',') as Sink[]) {
      const r = await execInto(container, sink, home, round);
      process.stdout.write(
        `  exec, ${sink}: ${(r.totalMs / 1000).toFixed(2)} s (create+start ${r.createStartMs.toFixed(0)} ms, ` +
          `first byte ${r.firstByteMs.toFixed(0)} ms, stream ${r.streamMs.toFixed(0)} ms, ` +
          `inspect ${r.inspectMs.toFixed(0)} ms), CPU ms: this process ${r.cpuMs.toFixed(0)}, ` +
          `dockerd ${r.engineMs.toFixed(0)}, shim ${r.shimMs.toFixed(0)}, step ${r.containerMs.toFixed(0)}; ` +
          `${r.chunks} chunks of ${r.meanChunk.toFixed(0)} B\n`,
      );
    }
  }
  const replayLine = (name: string, Demuxer: typeof FrameDemuxer, Log: typeof BuildLog) => {
    replay(Demuxer, Log, home); // warm-up
    process.stdout.write(`  replay, ${name}: ${replay(Demuxer, Log, home).toFixed(0)} ms CPU per 200 MB\n`);
  };
  if (recorded.length > 0) {
    process.stdout.write(
      `replay of ${recorded.length} recorded chunks (${(recordedBytes / 1048576).toFixed(1)} MB)\n`,
    );
    for (let i = 0; i < 2; i++) {
      replayLine('FrameDemuxer + BuildLog, now', FrameDemuxer, BuildLog);
      if (Before) replayLine('FrameDemuxer + BuildLog, before', Before.FrameDemuxer, Before.BuildLog);
    }
  }
} finally {
  await container.remove({ force: true });
  rmSync(home, { recursive: true, force: true });
}
