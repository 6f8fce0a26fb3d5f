/**
 * A PostgreSQL outage under a running service (issue 12): a private server of the test's own is
 * stopped while a build runs and started again. The service (this process) must live through it,
 * say so (/healthz 503 naming the database, the monitor's banner and its `health` event), refuse
 * pushes with 503 instead of acknowledging what it could not store, finish the running build and
 * start the queued one once the database is back, and take and build pushes again, all without a
 * restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal, type Harness } from '../helpers/harness.js';
import { PrivatePostgres, privatePostgresSkip } from '../helpers/private-postgres.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const SECRET = 'outage-secret';
// Long enough that the database is stopped while the build runs, and its end is stored late.
const RULE = fakeRule(['sleep 3', 'echo kernel > /target/vmlinuz.efi'], {
  publish: 'outage-{branch}-{short}.efi',
});

/** Reads an SSE response until an event of `name` whose data matches `pattern`. */
async function nextEvent(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  name: string,
  pattern: RegExp,
): Promise<string> {
  const decoder = new TextDecoder();
  for (;;) {
    const blocks = seen.text.split('\n\n');
    for (const [index, block] of blocks.slice(0, -1).entries()) {
      const data = block.match(/^data: (.*)$/m)?.[1] ?? '';
      if (new RegExp(`^event: ${name}$`, 'm').test(block) && pattern.test(data)) {
        seen.text = blocks.slice(index + 1).join('\n\n');
        return data;
      }
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before event ${name}`);
    seen.text += decoder.decode(value, { stream: true });
  }
}

describe('PostgreSQL outage under a running service', { skip: privatePostgresSkip }, () => {
  let pg: PrivatePostgres;
  let h: Harness;

  before(async () => {
    pg = await PrivatePostgres.create();
    await pg.start();
    h = await startHarness({
      repositories: { 'acme/outage': RULE },
      executor: new FakeExecutor(),
      token: SECRET,
      extra: { database_url: pg.url },
    });
    await h.listen();
  });

  after(async () => {
    await pg.start().catch(() => undefined); // closing the service needs its database
    await h?.close().catch(() => undefined);
    if (h) removeHome(h);
    await pg?.destroy();
  });

  // Not postPush(): over the socket and without asserting 202 (the outage answers 503).
  const push = (branch: string, commit: string, delivery: string) => {
    const body = JSON.stringify(pushPayload({ repository: 'acme/outage', branch, commit }));
    return fetch(`${h.url}/build/outage/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, delivery }),
    });
  };

  it('answers 503 while the database is away, and resumes without a restart when it is back', async () => {
    const repo = new LocalRepo(h.gitRoot, 'acme/outage');
    const first = repo.commit('main', { a: '1' });
    const second = repo.commit('next', { b: '2' });
    const third = repo.commit('waiting', { c: '3' });

    const events = await fetch(`${h.url}/api/events`);
    const reader = events.body!.getReader();
    const buffer = { text: '' };

    // A build that is running when the database goes away.
    const accepted = await push('main', first, 'outage-before');
    assert.equal(accepted.status, 202);
    const running = (await accepted.json()) as { id: number };
    await waitFor(async () => (await h.service.store.getBuild(running.id))?.state === 'running');
    // And one queued behind it (concurrency 1): it must not be lost, and must start after the outage.
    const queuedAnswer = await push('waiting', third, 'outage-queued');
    assert.equal(queuedAnswer.status, 202);
    const queued = (await queuedAnswer.json()) as { id: number; state: string };
    assert.equal(queued.state, 'queued');
    // Idle pooled connections now exist: their loss is what used to end the process.
    await h.service.store.countByState();

    await pg.stop();

    const health = await waitFor(async () => {
      const response = await fetch(`${h.url}/healthz`);
      return response.status === 503
        ? ((await response.json()) as { status: string; database: string })
        : false;
    });
    assert.equal(health.status, 'degraded');
    assert.match(health.database, /^unreachable: /);

    const banner = JSON.parse(await nextEvent(reader, buffer, 'health', /unreachable/)) as {
      database: string;
    };
    assert.match(banner.database, /^unreachable: /);
    const monitor = await fetch(`${h.url}/monitor`);
    assert.equal(monitor.status, 503);
    assert.match(await monitor.text(), /Database unreachable: /);

    // A push that cannot be stored is not acknowledged: GitHub shows the failure and can redeliver.
    const refused = await push('next', second, 'outage-during');
    assert.equal(refused.status, 503);
    const error = (await refused.json()) as { error: string; message: string };
    assert.equal(error.error, 'STORE_UNAVAILABLE');
    assert.match(error.message, /database is unreachable/);

    await pg.start();

    await waitFor(async () => (await fetch(`${h.url}/healthz`)).status === 200);
    assert.match(await nextEvent(reader, buffer, 'health', /"ok"/), /"database":"ok"/);
    // The build that ran through the outage ends, its final state and its steps stored late.
    const finished = await waitForFinal(h, running.id, 30_000);
    assert.equal(finished.state, 'success', finished.reason ?? '');
    assert.deepEqual(
      finished.steps.map((s) => s.exitCode),
      [0, 0],
    );
    assert.equal((await waitForFinal(h, queued.id, 30_000)).state, 'success');
    // Nothing of the refused push was stored; its redelivery is taken and built.
    assert.equal(await h.service.store.findDelivery('outage-during'), null);
    const redelivered = await push('next', second, 'outage-during');
    assert.equal(redelivered.status, 202);
    const build = (await redelivered.json()) as { id: number };
    assert.equal((await waitForFinal(h, build.id, 30_000)).state, 'success');
    assert.equal((await fetch(`${h.url}/monitor`)).status, 200);
    await reader.cancel();
  });
});
