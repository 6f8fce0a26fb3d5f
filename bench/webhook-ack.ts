/**
 * Webhook acknowledgement: signed 8 KB push payloads at concurrency 1, 16 and 64 against the real
 * service (SQLite file, real HTTP on loopback), baseline a bare fastify answering 200 to the same
 * requests. Counts rows afterwards: no push lost or doubled.
 */
import Fastify from 'fastify';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { fail, figure, machine, writeSection } from './report.js';
import { runLoad } from './run-load.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const SECRET = 'bench-secret';

const load = (url: string, concurrency: number, offset: number) =>
  runLoad({ url, concurrency, offset, requests: REQUESTS, secret: SECRET });

export async function benchWebhook(): Promise<string[]> {
  const h = await startHarness({
    token: SECRET,
    executor: new FakeExecutor(),
    repositories: {
      'bench/os': { image: 'fake/base:latest', checkout: '/src', steps: ['true'], network: 'none' },
    },
  });
  h.service.scheduler.pause();
  const serviceUrl = `${await h.listen()}/build/bench/hook`;
  const bare = Fastify();
  bare.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
  bare.post('/build/:project/hook', async (_request, reply) => reply.status(202).send({ ok: true }));
  const bareUrl = `${await bare.listen({ port: 0, host: '127.0.0.1' })}/build/bench/hook`;
  const lines: string[] = [];
  let offset = 0;
  try {
    for (const concurrency of [1, 16, 64]) {
      const baseline = await load(bareUrl, concurrency, 0);
      const service = await load(serviceUrl, concurrency, offset);
      offset += REQUESTS;
      if (service.errors > 0) fail(`${service.errors} webhook requests failed at concurrency ${concurrency}`);
      lines.push(figure(`webhook c=${concurrency} throughput`, service.rps, 'req/s', baseline.rps));
      lines.push(figure(`webhook c=${concurrency} p50`, service.p50, 'ms', baseline.p50));
      lines.push(figure(`webhook c=${concurrency} p99`, service.p99, 'ms', baseline.p99));
    }
    const counts = await h.service.store.countByState();
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    lines.push(figure('webhook builds recorded / pushes sent', rows, `rows of ${offset}`, offset));
    if (rows !== offset) fail(`expected ${offset} builds, found ${rows}`);
  } finally {
    await bare.close();
    await h.close();
    removeHome(h);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await benchWebhook();
  writeSection(
    'Webhook acknowledgement',
    `${machine()}; ${REQUESTS} signed 8 KB pushes per level; baseline: bare fastify answering 202.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\``,
  );
}
