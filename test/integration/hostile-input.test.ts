/**
 * Bad and hostile input through the real HTTP server: each case gets a clear 4xx (or a recorded
 * `ignored`), the process keeps serving, and nothing is written outside the configured directories.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, type Harness, waitForFinal } from '../helpers/harness.js';
import { pushPayload, sign, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const SECRET = 'hostile-secret';
const SHA = 'c'.repeat(40);

interface Case {
  name: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Sign the body (default true). */
  signed?: boolean;
  path?: string;
  expect: number | 'ignored';
}

// Not pushAndWait(): a body to spoil; each case sends it its own way (unsigned, odd headers, paths).
const push = (overrides: Record<string, unknown>) =>
  JSON.stringify({ ...pushPayload({ repository: 'acme/os', branch: 'm', commit: SHA }), ...overrides });

const CASES: Case[] = [
  // malformed bodies
  { name: 'empty body', body: '', expect: 400 },
  { name: 'truncated JSON', body: push({}).slice(0, 50), expect: 400 },
  { name: 'JSON null', body: 'null', expect: 400 },
  { name: 'JSON array', body: '[1,2,3]', expect: 400 },
  { name: 'JSON string', body: '"push"', expect: 400 },
  { name: 'deeply nested JSON', body: '['.repeat(200_000) + ']'.repeat(200_000), expect: 400 },
  {
    name: 'invalid UTF-8',
    body: Buffer.concat([Buffer.from('{"ref":"refs/heads/'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    expect: 400,
  },
  {
    name: 'prototype pollution',
    body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    expect: 400,
  },
  { name: 'wrong field types', body: push({ ref: 42, after: ['x'] }), expect: 400 },
  {
    name: 'too many commits',
    body: push({ commits: Array.from({ length: 3000 }, () => ({ id: SHA, message: 'm', url: '' })) }),
    expect: 400,
  },
  { name: 'upper-case sha', body: push({ after: SHA.toUpperCase() }), expect: 400 },
  // refs
  { name: 'ref with ..', body: push({ ref: 'refs/heads/../../etc' }), expect: 400 },
  { name: 'ref with leading slash', body: push({ ref: 'refs/heads//root' }), expect: 400 },
  { name: 'ref with NUL', body: push({ ref: 'refs/heads/a\u0000b' }), expect: 400 },
  { name: 'ref with newline', body: push({ ref: 'refs/heads/a\nb' }), expect: 400 },
  { name: 'ref with a space and $()', body: push({ ref: 'refs/heads/$(touch /tmp/pwned)' }), expect: 400 },
  { name: '10k-character ref', body: push({ ref: `refs/heads/${'x'.repeat(10_000)}` }), expect: 400 },
  { name: 'not a branch or tag', body: push({ ref: 'refs/remotes/origin/x' }), expect: 400 },
  {
    name: '10k-character repository',
    body: push({ repository: { full_name: `${'a'.repeat(5000)}/${'b'.repeat(5000)}` } }),
    expect: 400,
  },
  { name: 'repository traversal', body: push({ repository: { full_name: '../../etc' } }), expect: 400 },
  // content types and sizes
  { name: 'text/plain', body: push({}), headers: { 'content-type': 'text/plain' }, expect: 415 },
  { name: 'application/xml', body: '<push/>', headers: { 'content-type': 'application/xml' }, expect: 415 },
  {
    name: 'multipart',
    body: push({}),
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    expect: 415,
  },
  { name: '30 MB body', body: Buffer.alloc(30 * 1024 * 1024, 0x61), expect: 413 },
  {
    name: 'form without payload',
    body: 'a=b',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    expect: 400,
  },
  {
    name: 'form with broken payload',
    body: 'payload=%7B',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    expect: 400,
  },
  // signatures and headers
  { name: 'no signature', body: push({}), signed: false, expect: 401 },
  {
    name: 'wrong signature',
    body: push({}),
    signed: false,
    headers: { 'x-hub-signature-256': sign('nope', push({})) },
    expect: 401,
  },
  {
    name: 'signature of another body',
    body: push({}),
    signed: false,
    headers: { 'x-hub-signature-256': sign(SECRET, '{}') },
    expect: 401,
  },
  {
    name: 'malformed signature',
    body: push({}),
    signed: false,
    headers: { 'x-hub-signature-256': 'sha256=zz' },
    expect: 401,
  },
  {
    name: '10k-character signature',
    body: push({}),
    signed: false,
    headers: { 'x-hub-signature-256': `sha256=${'a'.repeat(10_000)}` },
    expect: 401,
  },
  { name: 'hostile delivery id', body: push({}), headers: { 'x-github-delivery': '$(reboot)' }, expect: 400 },
  {
    name: '10k-character delivery id',
    body: push({}),
    headers: { 'x-github-delivery': 'a'.repeat(10_000) },
    expect: 400,
  },
  { name: 'missing event', body: push({}), headers: { 'x-github-event': '' }, expect: 400 },
  { name: '10k-character project', body: push({}), path: `/build/${'p'.repeat(10_000)}/hook`, expect: 400 },
  { name: 'shell in project', body: push({}), path: '/build/%24(reboot)/hook', expect: 400 },
  // recorded as ignored
  { name: 'unknown event', body: '{}', headers: { 'x-github-event': 'issues' }, expect: 'ignored' },
  {
    name: '10k-character event',
    body: '{}',
    headers: { 'x-github-event': 'e'.repeat(10_000) },
    expect: 'ignored',
  },
  { name: 'deleted branch', body: push({ deleted: true, after: '0'.repeat(40) }), expect: 'ignored' },
  {
    name: 'unconfigured repository',
    body: push({ repository: { full_name: 'evil/repo' } }),
    expect: 'ignored',
  },
];

describe('hostile input through the real HTTP server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      token: SECRET,
      executor: new FakeExecutor(),
      repositories: {
        'acme/os': fakeRule(['echo "$AUTOBUILD_BRANCH" > /target/vmlinuz.efi'], {
          publish: 'os-{branch}.efi',
        }),
      },
    });
    await h.listen();
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  const send = (c: Case) => {
    const headers = webhookHeaders(typeof c.body === 'string' ? c.body : c.body.toString('latin1'), {
      secret: c.signed === false ? undefined : SECRET,
    });
    if (c.signed !== false) headers['x-hub-signature-256'] = sign(SECRET, c.body);
    Object.assign(headers, c.headers);
    if (headers['x-github-event'] === '') delete headers['x-github-event'];
    return fetch(`${h.url}${c.path ?? '/build/hostile/hook'}`, {
      method: 'POST',
      body: c.body as BodyInit,
      headers,
    });
  };

  for (const c of CASES) {
    it(`${c.name} → ${c.expect}`, async () => {
      const before = await h.service.store.countByState();
      const response = await send(c);
      const body = (await response.json()) as { error?: string; message?: string; ignored?: string };
      if (c.expect === 'ignored') {
        assert.equal(response.status, 202);
        assert.ok(body.ignored);
      } else {
        assert.equal(response.status, c.expect, JSON.stringify(body).slice(0, 300));
        assert.ok(body.error && body.message, 'a JSON error with a code and a message');
      }
      assert.deepEqual(await h.service.store.countByState(), before, 'nothing was recorded');
    });
  }

  it('a truncated request (socket closed mid-body) does not hurt the service', async () => {
    await new Promise<void>((resolve) => {
      const url = new URL(h.url);
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          'POST /build/x/hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 100000\r\n\r\n{"ref":',
        );
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });

  it('concurrent identical deliveries make exactly one build; valid but odd refs build as data', async () => {
    const repo = new LocalRepo(h.gitRoot, 'acme/os');
    const branch = '$(touch${IFS}/tmp/pwned)\'"`;&|<>';
    const sha = repo.commit(branch, { a: '1' });
    const body = JSON.stringify(pushPayload({ repository: 'acme/os', branch, commit: sha }));
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${h.url}/build/hostile/hook`, {
          method: 'POST',
          body,
          headers: webhookHeaders(body, { secret: SECRET, delivery: 'same-delivery' }),
        }),
      ),
    );
    const ids = new Set<number>();
    for (const r of responses) {
      assert.equal(r.status, 202);
      ids.add(((await r.json()) as { id: number }).id);
    }
    assert.equal(ids.size, 1);
    const [id] = [...ids];
    const build = await waitForFinal(h, id!);
    assert.equal(build.state, 'success', build.reason ?? '');
    assert.equal(build.branch, branch);
    assert.match(build.artifact!, /^os-[A-Za-z0-9._-]+\.efi$/);
    assert.equal(existsSync('/tmp/pwned'), false);
    assert.deepEqual(
      readdirSync(h.config.kernelTarget).filter((f) => !/^os-[A-Za-z0-9._-]+\.efi$/.test(f)),
      [],
    );
    process.stdout.write(
      `# hostile input: ${CASES.length + 2} cases, every one answered with a clear status; service still healthy\n`,
    );
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });
});
