/**
 * Slow clients are dropped and connections are capped: 1000 connections trickling a webhook body a
 * byte at a time are answered REQUEST_TIMEOUT and closed once `request_timeout` passes, while
 * signed webhooks sent meanwhile are accepted and a live event stream (a long response, not a long
 * request) stays open. Past `max_connections` a new connection is closed on arrival. Loopback only,
 * bounded in count and time.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const SECRET = 'slow-secret';
const REPOSITORIES = {
  'acme/os': fakeRule(['true']),
};
const TRICKLE_HEAD =
  'POST /build/t/hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 100000\r\n\r\n';

interface Trickler {
  socket: Socket;
  answer: string;
  closed: boolean;
}

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function openTricklers(url: string, count: number): Promise<Trickler[]> {
  const all: Trickler[] = [];
  for (let batch = 0; batch < count; batch += 100) {
    const sockets = await Promise.all(
      Array.from({ length: Math.min(100, count - batch) }, () => openSocket(url)),
    );
    for (const socket of sockets) {
      const t: Trickler = { socket, answer: '', closed: false };
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (t.answer += chunk));
      socket.on('close', () => (t.closed = true));
      socket.on('error', () => undefined); // 'close' follows
      socket.write(TRICKLE_HEAD + '{');
      all.push(t);
    }
  }
  return all;
}

// Not postPush(): a real connection beside the slow ones, and the answer may be a refusal.
async function pushWebhook(h: Harness, branch: string): Promise<Response> {
  const commit = Buffer.from(branch).toString('hex').padEnd(40, '0').slice(0, 40);
  const body = JSON.stringify(pushPayload({ repository: 'acme/os', branch, commit }));
  return fetch(`${h.url}/build/t/hook`, {
    method: 'POST',
    headers: webhookHeaders(body, { secret: SECRET }),
    body,
  });
}

describe('slow clients', () => {
  let h: Harness;
  let trickle: NodeJS.Timeout | undefined;
  before(async () => {
    h = await startHarness({
      token: SECRET,
      executor: new FakeExecutor(),
      repositories: REPOSITORIES,
      // The cap sits above the 1000 tricklers here: this test is about the timeout.
      extra: { request_timeout: 2000, max_connections: 1100 },
    });
    h.service.scheduler.pause();
    await h.listen();
  });
  after(async () => {
    clearInterval(trickle);
    await h.close();
    removeHome(h);
  });

  it('drops 1000 body-trickling connections by the timeout while webhooks and event streams go on', async () => {
    const events = new AbortController();
    const stream = await fetch(`${h.url}/api/events`, { signal: events.signal });
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let streamed = '';
    const readStream = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        streamed += value;
      }
    })();

    const tricklers = await openTricklers(h.url, 1000);
    // One byte every 200 ms per connection: the 100000-byte bodies would take hours.
    trickle = setInterval(() => {
      for (const t of tricklers) if (!t.closed) t.socket.write('[');
    }, 200);

    const accepted = await Promise.all(Array.from({ length: 10 }, (_, i) => pushWebhook(h, `during-${i}`)));
    for (const response of accepted) assert.equal(response.status, 202, await response.text());

    await waitFor(() => tricklers.every((t) => t.closed), 30_000);
    clearInterval(trickle);
    const timedOut = tricklers.filter((t) => /^HTTP\/1\.1 408 /.test(t.answer));
    assert.equal(timedOut.length, 1000, 'each trickler was answered 408 before being closed');
    assert.match(tricklers[0]!.answer, /\{"error":"REQUEST_TIMEOUT","message":/);

    // The stream opened before the tricklers outlived the request timeout and still delivers.
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    const after = await pushWebhook(h, 'after');
    assert.equal(after.status, 202);
    const { id } = (await after.json()) as { id: number };
    await waitFor(() => streamed.includes(`"id":${id},`), 10_000);
    events.abort();
    await readStream;
    assert.equal((await h.service.store.countByState()).queued, 11);
  });
});

describe('connection cap', () => {
  let h: Harness;
  const held: Socket[] = [];
  before(async () => {
    h = await startHarness({
      executor: new FakeExecutor(),
      repositories: REPOSITORIES,
      extra: { max_connections: 20 },
    });
    await h.listen();
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await h.close();
    removeHome(h);
  });

  it('closes a connection past max_connections on arrival, and serves again once below', async () => {
    for (let i = 0; i < 20; i += 1) {
      const socket = await openSocket(h.url);
      socket.on('error', () => undefined);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // headers never finished: held open
      held.push(socket);
    }
    await waitFor(async () => ((await count(h)) === 20 ? true : undefined), 5_000);
    const refused = await fetch(`${h.url}/healthz`).then(
      (response) => response.status,
      () => 'closed',
    );
    assert.equal(refused, 'closed');
    for (const socket of held.splice(0)) socket.destroy();
    await waitFor(async () => ((await count(h)) === 0 ? true : undefined), 5_000);
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });
});

function count(h: Harness): Promise<number> {
  return new Promise((resolve, reject) =>
    h.service.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
  );
}
