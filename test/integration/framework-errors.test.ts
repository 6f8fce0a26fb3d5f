/**
 * Errors raised by Fastify and by Node's HTTP parser are answered from the one error table
 * (`{"error": CODE, "message": …}`, docs/api.md), like the service's own: bad URL encodings,
 * unknown routes, content types, body limits, unparsable requests, oversized headers, and
 * requests arriving while the service stops. Real HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/errors.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-http.js';
import { fakeRule } from '../helpers/fake-rule.js';

function assertFromTable(status: number, text: string, code: keyof typeof ERROR_CODES, what: string) {
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.error, code, `${what}: ${text}`);
  assert.equal(status, ERROR_CODES[code], what);
  assert.equal(typeof body.message, 'string', what);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message'], `${what}: no framework fields`);
}

describe('framework errors come from the error table', () => {
  let h: Harness;
  let releaseSlow: () => void = () => undefined;
  let slowStarted = false;
  let closingSeen: () => void = () => undefined;
  const closing = new Promise<void>((resolve) => (closingSeen = resolve));
  before(async () => {
    h = await startHarness({
      token: 'secret',
      executor: new FakeExecutor(),
      repositories: { 'acme/os': fakeRule(['true']) },
    });
    // A request held in flight lets the last case send another while the service is stopping.
    h.service.app.get('/test/slow', () => {
      slowStarted = true;
      return new Promise((resolve) => (releaseSlow = () => resolve('done')));
    });
    h.service.app.addHook('preClose', (done) => {
      closingSeen();
      done();
    });
    await h.listen();
  });
  after(async () => {
    releaseSlow();
    await h.close();
    removeHome(h);
  });

  const cases: [string, string, RequestInit, keyof typeof ERROR_CODES][] = [
    ['a bad URL encoding', '/build/%E0%A4%A/hook', { method: 'POST', body: '{}' }, 'BAD_REQUEST'],
    ['a bad URL encoding (GET)', '/api/builds/%zz', {}, 'BAD_REQUEST'],
    ['an unknown route', '/no/such/route', {}, 'NOT_FOUND'],
    ['an unknown method', '/monitor', { method: 'DELETE' }, 'NOT_FOUND'],
    ['malformed JSON to a write', '/api/builds', { method: 'POST', body: '{nope' }, 'INVALID_PAYLOAD'],
    [
      'an unsupported content type',
      '/build/x/hook',
      { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } },
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a form body to the API (only the webhook takes forms)',
      '/api/builds',
      { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      'UNSUPPORTED_MEDIA_TYPE',
    ],
  ];
  for (const [what, path, init, code] of cases) {
    it(`${what} → ${code}`, async () => {
      const response = await fetch(`${h.url}${path}`, {
        ...init,
        headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
      });
      assertFromTable(response.status, await response.text(), code, what);
    });
  }

  it('a body over the limit → PAYLOAD_TOO_LARGE, before it is sent', async () => {
    const answer = await rawRequest(
      h.url,
      'POST /build/x/hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\n\r\n{',
    );
    assertFromTable(answer.status, answer.body, 'PAYLOAD_TOO_LARGE', 'body too large');
  });

  it('a request the HTTP parser refuses → BAD_REQUEST', async () => {
    const answer = await rawRequest(h.url, 'GARBAGE\r\n\r\n');
    assertFromTable(answer.status, answer.body, 'BAD_REQUEST', 'unparsable request');
  });

  it('headers over the size limit → HEADERS_TOO_LARGE', async () => {
    const answer = await rawRequest(
      h.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assertFromTable(answer.status, answer.body, 'HEADERS_TOO_LARGE', 'header overflow');
  });

  it('the service keeps serving, then answers SHUTTING_DOWN while it stops', async () => {
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
    // One connection: the first request is held in flight (so close() leaves the connection
    // open), the second is sent once close() began.
    const { hostname, port } = new URL(h.url);
    const socket = connect(Number(port), hostname);
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    const ended = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => slowStarted);
    const stopping = h.service.app.close();
    await closing;
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    releaseSlow();
    await ended;
    await stopping;
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^HTTP\/1\.1 200[^]*done$/);
    const [head, body] = answers[1]!.split('\r\n\r\n');
    assertFromTable(Number(head!.slice(9, 12)), body!, 'SHUTTING_DOWN', 'request while stopping');
  });
});
