/** Helpers for the Docker benchmarks: a push through the service and timing of plain `docker run`. */
import { spawn } from 'node:child_process';
import type { Build } from '../src/domain/build.js';
import type { Harness } from '../test/helpers/harness.js';
import { waitForFinal } from '../test/helpers/harness.js';
import { pushPayload, webhookHeaders } from '../test/helpers/webhook.js';

export async function pushAndWait(
  h: Harness,
  repository: string,
  branch: string,
  commit: string,
  secret = '',
): Promise<Build> {
  const body = JSON.stringify(pushPayload({ repository, branch, commit }));
  const response = await fetch(`${h.url}/build/bench/hook`, {
    method: 'POST',
    body,
    headers: webhookHeaders(body, { secret: secret || undefined }),
  });
  const { id } = (await response.json()) as { id: number };
  return waitForFinal(h, id, 600_000);
}

export function buildSeconds(build: Build): number {
  return (Date.parse(build.finishedAt!) - Date.parse(build.startedAt!)) / 1000;
}

/** Milliseconds from spawning `docker run` until `marker` shows on its stdout (or until exit). */
export function timeDockerRun(
  args: string[],
  marker?: string,
): Promise<{ firstMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstMs = Number.NaN;
    const child = spawn('docker', ['run', '--rm', ...args], {
      stdio: ['ignore', marker ? 'pipe' : 'ignore', 'inherit'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (Number.isNaN(firstMs) && marker && chunk.toString().includes(marker))
        firstMs = performance.now() - started;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve({ firstMs, totalMs: performance.now() - started })
        : reject(new Error(`docker run exited ${code}`)),
    );
  });
}
