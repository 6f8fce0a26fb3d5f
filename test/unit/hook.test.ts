/** The webhook endpoint through app.inject() (no socket needed), with a real SQLite file (builds run on the fake executor). */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { startHarness, removeHome, type Harness } from '../helpers/harness.js';
import { injectFetch } from '../helpers/inject.js';
import { pushPayload, sign, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const SECRET = 'hook-secret';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const RULE = fakeRule(['echo hi']);

describe('POST /build/:project/hook', () => {
  let h: Harness;
  let executor: FakeExecutor;
  before(async () => {
    executor = new FakeExecutor();
    h = await startHarness({
      repositories: { 'Codertocat/Hello-World': RULE, 'acme/os': RULE },
      executor,
      token: SECRET,
    });
    // Builds stay queued: these tests are about what is recorded, not run.
    h.service.scheduler.pause();
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });

  const post = (body: string | Buffer, headers: Record<string, string>, project = 'initramfs') =>
    injectFetch(h.service.app)(`/build/${project}/hook`, { method: 'POST', body: body as BodyInit, headers });
  const countBuilds = async () => (await h.service.store.countByState()).queued;

  it('records GitHub’s push as a queued build for the exact commit and answers 202 with its links', async () => {
    const body = fixture('push-branch.json');
    const response = await post(body, webhookHeaders(body, { secret: SECRET, delivery: 'f-1' }));
    assert.equal(response.status, 202);
    const answer = (await response.json()) as {
      id: number;
      state: string;
      commit: string;
      links: { api: string; monitor: string };
    };
    assert.equal(answer.state, 'queued');
    assert.equal(answer.commit, '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c');
    assert.equal(answer.links.api, `http://localhost:0/api/builds/${answer.id}`);
    assert.match(answer.links.monitor, new RegExp(`/monitor/builds/${answer.id}$`));
    const stored = await h.service.store.getBuild(answer.id);
    assert.equal(stored?.project, 'initramfs');
    assert.equal(stored?.pusher, 'Codertocat');
    assert.equal(stored?.commits[0]?.message, 'Update README.md');
    const api = (await (await injectFetch(h.service.app)(`/api/builds/${answer.id}`)).json()) as {
      state: string;
      waiting: string;
    };
    assert.equal(api.state, 'queued');
  });

  it('answers a push with a commit count instead of its commit list, which the build API still has', async () => {
    const commits = Array.from({ length: 20 }, (_, i) => ({
      id: (i + 1).toString(16).padStart(40, '0'),
      message: `change ${i} ${'x'.repeat(300)}`,
      author: { name: 'dev', username: 'dev' },
      url: `https://github.com/acme/os/commit/${(i + 1).toString(16).padStart(40, '0')}`,
    }));
    const body = JSON.stringify({
      ...pushPayload({ repository: 'acme/os', branch: 'slim-answer', commit: 'a'.repeat(40) }),
      commits,
    });
    const response = await post(body, webhookHeaders(body, { secret: SECRET, delivery: 'slim-1' }));
    assert.equal(response.status, 202);
    const text = await response.text();
    const answer = JSON.parse(text) as Record<string, unknown> & { id: number };
    assert.equal('commits' in answer, false, 'no commit list in the answer');
    assert.equal(answer.commitCount, 20);
    assert.equal(answer.state, 'queued');
    assert.equal(answer.deliveryId, 'slim-1');
    assert.ok(text.length < 2000, `the answer is small (${text.length} bytes)`);
    const api = (await (await injectFetch(h.service.app)(`/api/builds/${answer.id}`)).json()) as {
      commits: { message: string }[];
    };
    assert.equal(api.commits.length, 20);
    assert.equal(api.commits[19]!.message, commits[19]!.message);
    // A redelivery answers the same way.
    const again = (await (
      await post(body, webhookHeaders(body, { secret: SECRET, delivery: 'slim-1' }))
    ).json()) as Record<string, unknown>;
    assert.equal(again.id, answer.id);
    assert.equal(again.duplicate, true);
    assert.equal('commits' in again, false);
    assert.equal(again.commitCount, 20);
  });

  it('answers a redelivery with the same build and records no second one', async () => {
    const body = JSON.stringify(
      pushPayload({ repository: 'acme/os', branch: 'redeliver', commit: '1'.repeat(40) }),
    );
    const first = (await (
      await post(body, webhookHeaders(body, { secret: SECRET, delivery: 'same-id' }))
    ).json()) as { id: number };
    const before = await countBuilds();
    const again = await Promise.all(
      Array.from({ length: 5 }, () =>
        post(body, webhookHeaders(body, { secret: SECRET, delivery: 'same-id' })),
      ),
    );
    for (const response of again) {
      assert.equal(response.status, 202);
      const answer = (await response.json()) as { id: number; duplicate: boolean };
      assert.equal(answer.id, first.id);
      assert.equal(answer.duplicate, true);
    }
    assert.equal(await countBuilds(), before);
  });

  it('answers an old body replayed under a new delivery id with its build, after a newer push', async () => {
    const [A, B] = ['6'.repeat(40), '7'.repeat(40)];
    const oldBody = JSON.stringify(pushPayload({ repository: 'acme/os', branch: 'replayed', commit: A }));
    const send = async (body: string, delivery: string) =>
      (await (await post(body, webhookHeaders(body, { secret: SECRET, delivery }))).json()) as {
        id: number;
        duplicate?: boolean;
      };
    const first = await send(oldBody, 'replay-1');
    const newer = await send(
      JSON.stringify(pushPayload({ repository: 'acme/os', branch: 'replayed', commit: B, before: A })),
      'replay-2',
    );
    const before = await countBuilds();
    const replay = await send(oldBody, 'replay-3');
    assert.deepEqual([replay.id, replay.duplicate], [first.id, true]);
    assert.equal(await countBuilds(), before, 'no build queued');
    assert.equal((await h.service.store.getBuild(newer.id))?.state, 'queued', 'the newer push stands');
    assert.equal((await h.service.store.findDelivery('replay-3'))?.buildId, first.id);
  });

  it('accepts application/x-www-form-urlencoded payloads', async () => {
    const json = JSON.stringify(
      pushPayload({ repository: 'acme/os', branch: 'form', commit: '2'.repeat(40) }),
    );
    const body = `payload=${encodeURIComponent(json)}`;
    const response = await post(
      body,
      webhookHeaders(body, { secret: SECRET, contentType: 'application/x-www-form-urlencoded' }),
    );
    assert.equal(response.status, 202);
    assert.equal(((await response.json()) as { branch: string }).branch, 'form');
  });

  it('accepts the legacy sha1 signature', async () => {
    const body = JSON.stringify(
      pushPayload({ repository: 'acme/os', branch: 'sha1', commit: '3'.repeat(40) }),
    );
    const headers = webhookHeaders(body);
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    assert.equal((await post(body, headers)).status, 202);
  });

  const refusals: [string, () => [string, Record<string, string>], number, string][] = [
    [
      'no signature',
      () => {
        const b = fixture('push-branch.json');
        return [b, webhookHeaders(b)];
      },
      401,
      'BAD_SIGNATURE',
    ],
    [
      'a wrong signature',
      () => {
        const b = fixture('push-branch.json');
        return [b, { ...webhookHeaders(b), 'x-hub-signature-256': sign('other', b) }];
      },
      401,
      'BAD_SIGNATURE',
    ],
    [
      'a body changed after signing',
      () => {
        const b = fixture('push-branch.json');
        return [b.replace('master', 'main'), webhookHeaders(b, { secret: SECRET })];
      },
      401,
      'BAD_SIGNATURE',
    ],
    [
      'a wrong sha1 signature',
      () => {
        const b = fixture('push-branch.json');
        return [b, { ...webhookHeaders(b), 'x-hub-signature': 'sha1=00' }];
      },
      401,
      'BAD_SIGNATURE',
    ],
    [
      'malformed JSON',
      () => ['{"ref": ', webhookHeaders('{"ref": ', { secret: SECRET })],
      400,
      'INVALID_PAYLOAD',
    ],
    ['missing fields', () => ['{}', webhookHeaders('{}', { secret: SECRET })], 400, 'INVALID_PAYLOAD'],
    [
      'a form without payload',
      () => [
        'x=1',
        webhookHeaders('x=1', { secret: SECRET, contentType: 'application/x-www-form-urlencoded' }),
      ],
      400,
      'INVALID_PAYLOAD',
    ],
    [
      'an unknown ref shape',
      () => {
        const b = JSON.stringify(
          pushPayload({
            repository: 'acme/os',
            branch: 'x',
            commit: '4'.repeat(40),
            ref: 'refs/pull/1/merge',
          }),
        );
        return [b, webhookHeaders(b, { secret: SECRET })];
      },
      400,
      'INVALID_PAYLOAD',
    ],
    [
      'a ref with ..',
      () => {
        const b = JSON.stringify(
          pushPayload({ repository: 'acme/os', branch: '../../x', commit: '4'.repeat(40) }),
        );
        return [b, webhookHeaders(b, { secret: SECRET })];
      },
      400,
      'INVALID_PAYLOAD',
    ],
    [
      'no event header',
      () => {
        const b = fixture('push-branch.json');
        const hd = webhookHeaders(b, { secret: SECRET });
        delete hd['x-github-event'];
        return [b, hd];
      },
      400,
      'BAD_REQUEST',
    ],
    [
      'a hostile delivery id',
      () => {
        const b = fixture('push-branch.json');
        return [b, webhookHeaders(b, { secret: SECRET, delivery: '../x' })];
      },
      400,
      'BAD_REQUEST',
    ],
    [
      'text/plain',
      () => {
        const b = fixture('push-branch.json');
        return [b, webhookHeaders(b, { secret: SECRET, contentType: 'text/plain' })];
      },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
  ];
  for (const [name, make, status, code] of refusals) {
    it(`refuses ${name} with ${status} ${code} and records nothing`, async () => {
      const before = await countBuilds();
      const [body, headers] = make();
      const response = await post(body, headers);
      assert.equal(response.status, status);
      const answer = (await response.json()) as { error: string; message: string };
      assert.equal(answer.error, code);
      assert.ok(answer.message.length > 0);
      assert.equal(await countBuilds(), before);
    });
  }

  it('refuses bodies over 25 MB with 413', async () => {
    const body = Buffer.alloc(26 * 1024 * 1024, 0x20);
    const response = await post(body, { 'content-type': 'application/json', 'x-github-event': 'push' });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: string }).error, 'PAYLOAD_TOO_LARGE');
  });

  it('answers ping with 200 and ignores other events, deleted refs and unknown repositories with 202', async () => {
    const ping = fixture('ping.json');
    assert.equal((await post(ping, webhookHeaders(ping, { secret: SECRET, event: 'ping' }))).status, 200);
    const before = await countBuilds();
    const cases: [string, string, string][] = [
      ['issues', '{"action":"opened"}', 'event "issues" is not handled'],
      ['push', fixture('push-tag-deleted.json'), 'ref deleted'],
      [
        'push',
        JSON.stringify(pushPayload({ repository: 'other/repo', branch: 'm', commit: '5'.repeat(40) })),
        'repository other/repo is not configured',
      ],
    ];
    for (const [event, body, reason] of cases) {
      const response = await post(
        body,
        webhookHeaders(body, { secret: SECRET, event, delivery: `ign-${reason.length}` }),
      );
      assert.equal(response.status, 202);
      assert.deepEqual(await response.json(), { ignored: reason });
    }
    assert.equal(await countBuilds(), before);
    assert.equal((await h.service.store.findDelivery(`ign-${'ref deleted'.length}`))?.outcome, 'ignored');
  });

  it('refuses a hostile project label', async () => {
    const body = fixture('push-branch.json');
    const response = await post(body, webhookHeaders(body, { secret: SECRET }), '%24(reboot)');
    assert.equal(response.status, 400);
  });
});

describe('redelivery after a config change', () => {
  it('builds a push that was ignored when its repository was not configured yet', async () => {
    const body = JSON.stringify(
      pushPayload({ repository: 'acme/late', branch: 'master', commit: '9'.repeat(40) }),
    );
    const first = await startHarness({ repositories: { 'acme/os': RULE }, executor: new FakeExecutor() });
    await first.listen();
    const ignored = await fetch(`${first.url}/build/p/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { delivery: 'late-1' }),
    });
    assert.deepEqual(await ignored.json(), { ignored: 'repository acme/late is not configured' });
    await first.close();
    const second = await startHarness({
      repositories: { 'acme/os': RULE, 'acme/late': RULE },
      executor: new FakeExecutor(),
      home: first.home,
      gitRoot: first.gitRoot,
    });
    try {
      second.service.scheduler.pause();
      await second.listen();
      const built = await fetch(`${second.url}/build/p/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body, { delivery: 'late-1' }),
      });
      assert.equal(built.status, 202);
      const { id } = (await built.json()) as { id: number };
      assert.equal((await second.service.store.findDelivery('late-1'))?.buildId, id);
      const again = await fetch(`${second.url}/build/p/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body, { delivery: 'late-1' }),
      });
      assert.equal(((await again.json()) as { id: number; duplicate: boolean }).id, id);
    } finally {
      await second.close();
      removeHome(second);
    }
  });
});
