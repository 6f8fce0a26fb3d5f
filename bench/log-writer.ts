/**
 * The build log's own cost, without the engine: 200 MB of 50-byte lines handed to BuildLog in the
 * chunk sizes an exec stream delivers (a slow step's few lines, a fast one's full frames), with a
 * live watcher on the bus. Baseline, in the same run: what the log did before batching, one
 * synchronous write (and one bus event) per chunk of complete lines, to a file on the same disk.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildLog } from '../src/live/build-log.js';
import { EventBus } from '../src/live/event-bus.js';
import { figure } from './report.js';

const MB = Number(process.env.BENCH_LOG_MB ?? 200);
const LINE = 'autobuilder log pipeline line, fifty bytes long..\n';

function chunkOf(size: number): Buffer {
  return Buffer.from(LINE.repeat(Math.max(1, Math.floor(size / LINE.length))));
}

function timeBatched(path: string, chunk: Buffer, count: number): number {
  const bus = new EventBus();
  const unsubscribe = bus.onLog(1, () => undefined);
  const log = new BuildLog(path, 1, bus, { maxBytes: Number.MAX_SAFE_INTEGER });
  const started = performance.now();
  for (let i = 0; i < count; i++) log.output(chunk);
  log.close();
  unsubscribe();
  return performance.now() - started;
}

function timePerChunk(path: string, chunk: Buffer, count: number): number {
  const bus = new EventBus();
  const unsubscribe = bus.onLog(1, () => undefined);
  const fd = openSync(path, 'w');
  const started = performance.now();
  let offset = 0;
  for (let i = 0; i < count; i++) {
    writeSync(fd, chunk);
    bus.publishLog({ buildId: 1, offset, text: chunk.toString('utf8') });
    offset += chunk.length;
  }
  closeSync(fd);
  unsubscribe();
  return performance.now() - started;
}

export async function benchLogWriter(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ab-bench-writer-'));
  const lines: string[] = [];
  try {
    for (const size of [500, 4096, 32 * 1024]) {
      const chunk = chunkOf(size);
      const count = Math.floor((MB * 1024 * 1024) / chunk.length);
      // Interleaved, best of three each: the machine is shared and noisy.
      const batched: number[] = [];
      const perChunk: number[] = [];
      for (let round = 0; round < 3; round++) {
        perChunk.push(timePerChunk(join(dir, 'per-chunk.log'), chunk, count));
        batched.push(timeBatched(join(dir, 'batched.log'), chunk, count));
      }
      lines.push(
        figure(
          `log writer ${MB} MB in ${chunk.length}-byte chunks, batched with line times`,
          Math.min(...batched),
          'ms',
          Math.min(...perChunk),
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
