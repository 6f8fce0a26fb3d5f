/**
 * The server side of bench/log-latency.ts, in its own process so its RSS is its own. Two kinds:
 * `service` is the real service (SQLite, fastify, the log stream endpoint) with a running build
 * whose BuildLog gets the lines; `bare` is a node:http server that only relays the same lines
 * as SSE to whoever is connected: the baseline. Lines carry the time they were published.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type ServerKind = 'service' | 'bare';
export type ServerMessage = { type: 'ready'; url: string } | { type: 'done'; lines: number; rssPeak: number };
export interface RunRequest {
  type: 'run';
  seconds: number;
  rate: number;
}

interface LineServer {
  url: string;
  line: (text: string) => void;
  close: () => Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();
const send = (message: ServerMessage) => process.send!(message);

/** Calls `publish` `rate` times a second for `seconds`, on a schedule that does not drift. */
async function publishSteadily(rate: number, seconds: number, publish: (n: number) => void): Promise<number> {
  const start = now();
  const total = Math.round(rate * seconds);
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    publish(n);
  }
  return total;
}

async function startService(): Promise<LineServer> {
  // Imported here so the baseline process never loads the service and its RSS stays a bare server's.
  const { FakeExecutor } = await import('../src/executor/fake/fake-executor.js');
  const { BuildLog } = await import('../src/live/build-log.js');
  const { removeHome, startHarness } = await import('../test/helpers/harness.js');
  const h = await startHarness({
    executor: new FakeExecutor(),
    repositories: { 'bench/log': { image: 'fake/base:latest', checkout: '/src', steps: ['true'] } },
    // Every reader comes from 127.0.0.1: past the default cap per address (32) they would get 503.
    extra: { streams: { max_watchers_per_address: 1000 } },
  });
  h.service.scheduler.pause(); // the build below is driven by hand, not by the scheduler
  const url = await h.listen();
  const { store, bus } = h.service;
  const { build } = await store.createBuild({
    project: 'bench',
    repository: 'bench/log',
    refType: 'branch',
    branch: 'master',
    commit: 'a'.repeat(40),
    kind: 'full',
    pusher: null,
    deliveryId: null,
    commits: [],
  });
  const logPath = join(h.config.logsDirectory, `build-${build.id}.log`);
  const running = await store.transition(build.id, ['queued'], 'running', {
    startedAt: new Date().toISOString(),
    logPath,
  });
  bus.publishBuild(running!);
  const log = new BuildLog(logPath, build.id, bus);
  return {
    url: `${url}/api/builds/${build.id}/log/stream`,
    line: (text) => log.line(text),
    async close() {
      log.close();
      await h.close();
      removeHome(h);
    },
  };
}

async function startBare(): Promise<LineServer> {
  const clients = new Set<ServerResponse>();
  let offset = 0;
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.flushHeaders();
    request.socket.setNoDelay(true);
    clients.add(response);
    response.on('close', () => clients.delete(response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    line(text) {
      const chunk = `${text}\n`;
      offset += Buffer.byteLength(chunk);
      const event = `id: ${offset}\ndata: ${JSON.stringify({ text: chunk })}\n\n`;
      for (const client of clients) client.write(event);
    },
    async close() {
      for (const client of clients) client.end();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const kind = process.argv[2] as ServerKind;
const server = kind === 'service' ? await startService() : await startBare();
send({ type: 'ready', url: server.url });
process.on('message', (message: RunRequest | { type: 'exit' }) => {
  if (message.type === 'exit') {
    void server.close().then(() => process.exit(0));
    return;
  }
  let rssPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 50);
  void publishSteadily(message.rate, message.seconds, (n) =>
    server.line(`tick ${n} ${now().toFixed(3)}`),
  ).then((lines) => {
    clearInterval(sampler);
    send({ type: 'done', lines, rssPeak: Math.max(rssPeak, process.memoryUsage.rss()) });
  });
});
