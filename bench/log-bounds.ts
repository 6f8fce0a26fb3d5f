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
import { mkdtempSync, rmSync } from 'node:fs';
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

type Sink = 'discard' | 'discard-gulp' | 'demux' | 'buildlog';

function dockerRun(inner: boolean): number {
  const started = performance.now();
  const command = inner ? `${COMMAND} > /dev/null` : COMMAND;
  const result = spawnSync('docker', ['run', '--rm', '--network', 'none', TEST_IMAGE, 'sh', '-c', command], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`docker run exited ${result.status}`);
  return performance.now() - started;
}

async function execInto(container: Docker.Container, sink: Sink, home: string, round: number) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const exec = await container.exec({
    Cmd: ['sh', '-c', `exec 2>&1; ${COMMAND}`],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Readable;
  const attached = performance.now();
  let log: BuildLog | null = null;
  if (sink === 'buildlog') log = new BuildLog(join(home, `build-${round}.log`), round, new EventBus());
  const demuxer = new FrameDemuxer((payload, kind) => log?.output(payload, kind));
  let chunks = 0;
  let bytes = 0;
  let firstByte = 0;
  let paused = false;
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      if (chunks === 0) firstByte = performance.now();
      chunks++;
      bytes += chunk.length;
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
  if (info.ExitCode !== 0) throw new Error(`exec exited ${info.ExitCode}`);
  return {
    totalMs: done - started,
    createStartMs: attached - started,
    firstByteMs: firstByte - attached,
    streamMs: streamEnd - firstByte,
    inspectMs: done - streamEnd,
    cpuMs: (used.user + used.system) / 1000,
    chunks,
    meanChunk: bytes / chunks,
  };
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
    process.stdout.write(`  docker run, > /dev/null inside: ${(dockerRun(true) / 1000).toFixed(2)} s\n`);
    process.stdout.write(`  docker run > /dev/null (baseline): ${(dockerRun(false) / 1000).toFixed(2)} s\n`);
    for (const sink of (process.env.SINKS ?? 'discard,discard-gulp,demux,buildlog').split(',') as Sink[]) {
      const r = await execInto(container, sink, home, round);
      process.stdout.write(
        `  exec, ${sink}: ${(r.totalMs / 1000).toFixed(2)} s (create+start ${r.createStartMs.toFixed(0)} ms, ` +
          `first byte ${r.firstByteMs.toFixed(0)} ms, stream ${r.streamMs.toFixed(0)} ms, ` +
          `inspect ${r.inspectMs.toFixed(0)} ms), CPU ${r.cpuMs.toFixed(0)} ms, ` +
          `${r.chunks} chunks of ${r.meanChunk.toFixed(0)} B\n`,
      );
    }
  }
} finally {
  await container.remove({ force: true });
  rmSync(home, { recursive: true, force: true });
}
