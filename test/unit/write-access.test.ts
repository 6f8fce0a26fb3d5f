/**
 * Who may write: with no API token only clients on the service host (a build container reaches
 * the service from its bridge address, not loopback); with tokens, only their bearers. The
 * webhook secret and the API tokens never stand in for each other. Driven with inject(), which
 * sets the connection's peer address as a real socket would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { securityNotices } from '../../src/config/security-notices.js';
import { isLoopback } from '../../src/http/write-access.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { enqueuePush, removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { sign } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const HOOK_SECRET = 'hook-secret';
const REPOSITORIES = {
  'acme/os': fakeRule(['sleep 30']),
};
const WRITES = ['/api/builds', '/api/builds/1/cancel', '/api/builds/1/rebuild', '/api/queue/pause'];
const REMOTE = ['172.17.0.2', '10.1.2.3', '192.168.1.20', '::ffff:172.17.0.2', 'fd00::2', '8.8.8.8'];

const body = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe('isLoopback', () => {
  it('knows 127.0.0.0/8 and ::1 in every spelling, nothing else', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.2'])
      assert.equal(isLoopback(address), true, address);
    for (const address of [...REMOTE, '0.0.0.0', '::', '128.0.0.1', '::ffff:10.0.0.1', '', undefined])
      assert.equal(isLoopback(address), false, String(address));
  });
});

describe('writes with no API token configured', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ token: HOOK_SECRET, executor: new FakeExecutor(), repositories: REPOSITORIES });
    h.service.scheduler.pause(); // builds stay queued: this is about who may write
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  it('refuses every write from a non-loopback client (a build container), changing nothing', async () => {
    h.service.scheduler.resume();
    for (const remoteAddress of REMOTE) {
      for (const url of WRITES) {
        for (const headers of [{}, { authorization: `Bearer ${HOOK_SECRET}` }]) {
          const response = await h.service.app.inject({
            method: 'POST',
            url,
            remoteAddress,
            headers: { ...headers, 'content-type': 'application/json' },
            payload: '{"repository":"acme/os","branch":"master"}',
          });
          assert.equal(response.statusCode, 403, `${remoteAddress} ${url}`);
          assert.equal(body(response).error, 'FORBIDDEN');
          assert.match(String(body(response).message), /API_TOKEN/);
        }
      }
    }
    assert.equal(h.service.scheduler.isPaused, false);
    assert.equal((await h.service.store.listActive()).length, 0);
  });

  it('refuses a loopback peer that says it forwards for someone else (a local proxy)', async () => {
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const response = await h.service.app.inject({
        method: 'POST',
        url: '/api/queue/pause',
        remoteAddress: '127.0.0.1',
        headers: { [header]: '127.0.0.1' },
      });
      assert.equal(response.statusCode, 403, header);
    }
    assert.equal(h.service.scheduler.isPaused, false);
  });

  it('refuses a loopback peer asked for another host name, or sent by a page of another site', async () => {
    const cases: Record<string, string>[] = [
      // A reverse proxy that forwards Host but no forwarding header; a DNS-rebinding page.
      { host: 'builds.example.org' },
      { host: 'attacker.example:5555' },
      // A page of another site open in the operator's browser posting to 127.0.0.1 (CSRF).
      { host: '127.0.0.1:5555', 'sec-fetch-site': 'cross-site' },
      { host: '127.0.0.1:5555', 'sec-fetch-site': 'same-site' },
      { host: '127.0.0.1:5555', origin: 'https://attacker.example' },
      { host: '127.0.0.1:5555', origin: 'null' },
    ];
    for (const headers of cases) {
      const response = await h.service.app.inject({
        method: 'POST',
        url: '/api/queue/pause',
        remoteAddress: '127.0.0.1',
        headers,
      });
      assert.equal(response.statusCode, 403, JSON.stringify(headers));
      assert.equal(response.json().error, 'FORBIDDEN');
    }
    assert.equal(h.service.scheduler.isPaused, false);
    // The monitor's own buttons: a same-origin request from a page served on loopback.
    const own = await h.service.app.inject({
      method: 'POST',
      url: '/api/queue/pause',
      remoteAddress: '127.0.0.1',
      headers: { host: '127.0.0.1:5555', origin: 'http://127.0.0.1:5555', 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(own.statusCode, 200);
    await h.service.app.inject({ method: 'POST', url: '/api/queue/resume', remoteAddress: '127.0.0.1' });
  });

  it('answers loopback clients, and the build page offers its buttons to them only', async () => {
    for (const [remoteAddress, url, paused] of [
      ['127.0.0.1', '/api/queue/pause', true],
      ['::1', '/api/queue/resume', false],
      ['::ffff:127.0.0.1', '/api/queue/pause', true],
    ] as const) {
      const response = await h.service.app.inject({ method: 'POST', url, remoteAddress });
      assert.equal(response.statusCode, 200, `${remoteAddress} ${url}`);
      assert.equal(h.service.scheduler.isPaused, paused);
    }
    const build = await enqueuePush(h, 'acme/os', 'master', 'a'.repeat(40));
    const page = (remoteAddress: string) =>
      h.service.app.inject({ url: `/monitor/builds/${build.id}`, remoteAddress });
    assert.match((await page('127.0.0.1')).body, /data-needs-token="false"/);
    assert.match((await page('172.17.0.2')).body, /data-needs-token="true"/);
  });
});

describe('writes with API tokens configured', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      token: HOOK_SECRET,
      apiTokens: ['api-one', 'api-two'],
      executor: new FakeExecutor(),
      repositories: REPOSITORIES,
    });
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  const pause = (remoteAddress: string, authorization?: string) =>
    h.service.app.inject({
      method: 'POST',
      url: '/api/queue/pause',
      remoteAddress,
      headers: authorization === undefined ? {} : { authorization },
    });

  it('wants a bearer token from everyone, loopback too; the webhook secret is not one', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong',
      'api-one',
      'Basic api-one',
      'Bearer api-one-x',
      `Bearer ${HOOK_SECRET}`,
    ]) {
      const response = await pause('127.0.0.1', authorization);
      assert.equal(response.statusCode, 401, String(authorization));
      assert.equal(body(response).error, 'UNAUTHORIZED');
    }
    assert.equal(h.service.scheduler.isPaused, false);
  });

  it('accepts each configured token, from any address', async () => {
    assert.equal((await pause('172.17.0.2', 'Bearer api-two')).statusCode, 200);
    assert.equal(h.service.scheduler.isPaused, true);
    assert.equal((await pause('::1', 'bearer api-one')).statusCode, 200);
    h.service.scheduler.resume();
  });

  it('does not take an API token as the webhook secret, and takes the secret', async () => {
    const payload = '{"zen":"hi"}';
    const ping = (secret: string) =>
      h.service.app.inject({
        method: 'POST',
        url: '/build/t/hook',
        payload,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'ping',
          'x-hub-signature-256': sign(secret, payload),
        },
      });
    const wrong = await ping('api-one');
    assert.equal(wrong.statusCode, 401);
    assert.equal(body(wrong).error, 'BAD_SIGNATURE');
    assert.equal((await ping(HOOK_SECRET)).statusCode, 200);
  });
});

describe('the start banner', () => {
  const base = { webhookSecret: '', apiTokens: [] as string[], engines: [] };
  const notices = (overrides: Partial<typeof base>) =>
    securityNotices({ ...base, ...overrides } as unknown as Parameters<typeof securityNotices>[0]);
  it('says in plain words what is open and to whom', () => {
    const none = notices({});
    assert.equal(none.length, 2);
    assert.match(none[0]!, /without a signature check/);
    assert.match(none[1]!, /answer only clients on this host/);
    const secretOnly = notices({ webhookSecret: 's' });
    assert.equal(secretOnly.length, 1);
    assert.match(secretOnly[0]!, /webhook secret does not authorise them/);
    assert.deepEqual(notices({ webhookSecret: 's', apiTokens: ['t'] }), []);
  });
});
