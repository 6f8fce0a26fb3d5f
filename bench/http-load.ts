/**
 * Worker thread of the HTTP benchmarks: sends `requests` requests at a fixed concurrency, either
 * signed 8 KB pushes (`secret` set) or GETs, and reports throughput and latency percentiles.
 * A thread of its own, so client and server each get a core of this 2-core machine.
 */
import { request as httpRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { pushPayload, sign } from '../test/helpers/webhook.js';
import { percentile } from './report.js';
import type { LoadRequest } from './run-load.js';

const { url, concurrency, offset, requests, secret, newConnection } = workerData as LoadRequest;

/** One request on a connection of its own: node:http without an agent closes it after. */
function send(method: string, body: string | undefined, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers, agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', reject);
    });
    request.once('error', reject);
    request.end(body);
  });
}

function payload(i: number): string {
  const base = pushPayload({
    repository: 'bench/os',
    branch: `b${i % 50}`,
    commit: (i + 1).toString(16).padStart(40, '0'), // never all zeros: that is a deleted ref
    message: 'x'.repeat(200),
  });
  const commits = Array.from({ length: 20 }, (_, k) => ({
    id: 'b'.repeat(40),
    message: `commit ${k} ${'m'.repeat(300)}`,
    url: 'https://github.com/bench/os/commit/x',
    author: { name: 'Bench' },
  }));
  return JSON.stringify({ ...base, commits });
}

const latencies: number[] = [];
let next = 0;
let errors = 0;
const started = performance.now();
// Pushes are signed and built per request inside the timing, as a sender would.
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      const i = offset + next++;
      const t0 = performance.now();
      const body = secret === undefined ? undefined : payload(i);
      const headers: Record<string, string> =
        secret === undefined || body === undefined
          ? {}
          : {
              'content-type': 'application/json',
              'x-github-event': 'push',
              'x-github-delivery': `bench-${i}`,
              'x-hub-signature-256': sign(secret, body),
            };
      let status: number;
      if (newConnection) {
        status = await send(body === undefined ? 'GET' : 'POST', body, headers).catch(() => 0);
      } else {
        const response = await fetch(url, body === undefined ? {} : { method: 'POST', body, headers });
        await response.arrayBuffer();
        status = response.status;
      }
      if (status !== 202 && status !== 200) errors += 1;
      latencies.push(performance.now() - t0);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
parentPort!.postMessage({
  rps: requests / seconds,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  errors,
});
