/**
 * The live monitor in a real headless Chromium against a real service (fake executor, local git
 * repository, loopback HTTP): builds appear and finish without a reload, logs stream live, a
 * dropped or reloaded stream misses and repeats nothing, and text from a push is never HTML.
 * Also the log stream's resume semantics over plain HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { BuildLog } from '../../src/live/build-log.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { fakeRule } from '../helpers/fake-rule.js';

const REPOSITORY = 'owner/name';
// Outside CI a machine without Chromium skips; under CI the test must run, so it fails instead.
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

/** One build step printing `lines` numbered lines with a pause between them. */
function slowLines(prefix: string, lines: number, pause: number): string {
  return Array.from({ length: lines }, (_, i) => `echo ${prefix} ${i + 1}`).join(` && sleep ${pause} && `);
}

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => /^(data|event|id):/m.test(block))
    .map((block) => {
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const [, field, value] = /^([a-z]+): ?(.*)$/.exec(line) ?? [];
        if (field === 'event') event.event = value!;
        else if (field === 'id') event.id = value;
        else if (field === 'data') data.push(value!);
      }
      event.data = data.join('\n');
      return event;
    });
}

const logText = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'message')
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join('');

describe('live monitor', { skip }, () => {
  let harness: Harness;
  let repo: LocalRepo;
  let browser: Browser;
  let page: Page;
  const sockets = new Set<Socket>();
  const dialogs: string[] = [];
  /** The build the log-stream test streamed to its end; the resume test reads it again. */
  let streamedId: number | undefined;

  // Not postPush(): end to end, the webhook comes over the service's socket as GitHub sends it.

  const push = async (message: string, options: { pusher?: string } = {}) => {
    const commit = repo.commit('master', { 'file.txt': `${Date.now()} ${Math.random()}` }, message);
    const payload = pushPayload({ repository: REPOSITORY, branch: 'master', commit, message });
    if (options.pusher) payload.pusher = { name: options.pusher };
    const body = JSON.stringify(payload);
    const response = await fetch(`${harness.url}/build/test/hook`, {
      method: 'POST',
      headers: webhookHeaders(body),
      body,
    });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: number }).id;
  };
  const rawLog = async (id: number) => (await fetch(`${harness.url}/api/builds/${id}/log`)).text();
  const stateOf = async (id: number) => (await harness.service.store.getBuild(id))?.state;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is required for the monitor tests and is missing at ${CHROMIUM}`);
    }
    const executor = new FakeExecutor();
    harness = await startHarness({
      executor,
      repositories: {
        [REPOSITORY]: fakeRule([
          slowLines('line', 12, 0.25),
          'echo héllo wörld ✓ <img src=x onerror=alert(3)>',
          'echo kernel > /target/vmlinuz.efi',
        ]),
      },
    });
    await harness.listen();
    harness.service.app.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    repo = new LocalRepo(harness.gitRoot, REPOSITORY);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('shows a push on /monitor, running then done, with its log live and no reload', async () => {
    await page.goto(`${harness.url}/monitor`);
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    const id = await push('first change');
    const row = page.locator(`#running tr.build[data-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    const tail = page.locator(`pre.tail[data-build="${id}"]`);
    await waitFor(async () => /^line 2$/m.test((await tail.textContent()) ?? ''), 10_000);
    assert.equal(await stateOf(id), 'running', 'the tail showed lines while the build was running');
    await waitFor(async () => /^line 5$/m.test((await tail.textContent()) ?? ''), 10_000);
    await page.locator(`#recent tr.build.state-success[data-id="${id}"]`).waitFor({ timeout: 15_000 });
    assert.equal(await row.count(), 0, 'gone from the running list');
    assert.equal(await page.evaluate(() => 'notReloaded' in window), true, 'the page was not reloaded');
  });

  it('streams the whole log on the build page; a dropped stream and a reload miss and repeat nothing', async () => {
    const id = await push('second change');
    const reconnects: string[] = [];
    page.on('request', (request) => {
      if (!request.url().includes(`/api/builds/${id}/log/stream`)) return;
      void request.allHeaders().then((headers) => {
        if (headers['last-event-id']) reconnects.push(headers['last-event-id']);
      });
    });
    await waitFor(async () => (await stateOf(id)) === 'running');
    await page.goto(`${harness.url}/monitor/builds/${id}`);
    const log = page.locator('#log');
    await waitFor(async () => /^line 3$/m.test((await log.textContent()) ?? ''), 10_000);

    // The server drops every connection: EventSource comes back with Last-Event-ID by itself.
    for (const socket of sockets) socket.destroy();
    await waitFor(async () => /^line 7$/m.test((await log.textContent()) ?? ''), 10_000);
    assert.ok(reconnects.length > 0 && Number(reconnects[0]) > 0, 'resumed with a byte offset');
    const beforeReload = (await log.textContent())!;
    assert.ok((await rawLog(id)).startsWith(beforeReload), 'after the resume the page holds the log so far');

    await page.reload();
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    await page.locator('#state', { hasText: 'success' }).waitFor({ timeout: 5_000 });
    const shown = (await log.textContent())!;
    assert.equal(shown, await rawLog(id), 'exactly the log file, nothing missing or doubled');
    const numbered = shown.split('\n').filter((line) => /^line \d+$/.test(line));
    assert.deepEqual(
      numbered,
      Array.from({ length: 12 }, (_, i) => `line ${i + 1}`),
    );
    assert.equal(await page.locator('#steps li').count(), 3);
    assert.equal(await page.locator('#cancel').isDisabled(), true, 'nothing to cancel once it ended');
    streamedId = id;
  });

  it('shows a commit message, a pusher and log output made of HTML as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const id = await push(evil, { pusher: '<img src=y onerror=alert(2)>' });
    await page.goto(`${harness.url}/monitor`);
    await page.locator(`tr.build[data-id="${id}"]`).first().waitFor({ timeout: 10_000 });
    assert.ok((await page.locator('#lists').textContent())?.includes('<img src=y onerror=alert(2)>'));
    const tail = page.locator(`pre.tail[data-build="${id}"]`);
    await waitFor(async () => /^line 4$/m.test((await tail.textContent()) ?? ''), 10_000);
    await page.goto(`${harness.url}/monitor/builds/${id}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#commits .message').textContent(), evil);
    assert.ok((await page.locator('#log').textContent())?.includes('<img src=x onerror=alert(3)>'));
    assert.equal(await page.locator('img').count(), 0, 'no element was made from the text');
    assert.deepEqual(dialogs, [], 'no script ran');
  });

  it('resumes the log stream over plain HTTP from any byte offset', async () => {
    const id = streamedId;
    assert.ok(id !== undefined, 'the log-stream test ran first and its build ended');
    const raw = Buffer.from(await rawLog(id));
    const full = await fetch(`${harness.url}/api/builds/${id}/log/stream`);
    assert.match(full.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(full.headers.get('cache-control'), 'no-cache');
    assert.equal(full.headers.get('x-accel-buffering'), 'no');
    const events = parseSse(await full.text());
    assert.equal(logText(events), raw.toString());
    assert.equal(events.at(-1)?.event, 'end');
    assert.equal(events.at(-2)?.id, String(raw.length));
    // At a line start, inside a line, and at the very end.
    for (const offset of [raw.indexOf('line 5'), raw.indexOf('line 5') + 3, raw.length]) {
      for (const [query, headers] of [
        ['', { 'last-event-id': String(offset) }],
        [`?offset=${offset}`, {}],
      ] as const) {
        const resumed = await fetch(`${harness.url}/api/builds/${id}/log/stream${query}`, { headers });
        const text = logText(parseSse(await resumed.text()));
        assert.equal(text, raw.subarray(offset).toString(), `resumed at ${offset} (${query || 'header'})`);
      }
    }
    const bad = await fetch(`${harness.url}/api/builds/${id}/log/stream`, {
      headers: { 'last-event-id': 'x' },
    });
    assert.equal(bad.status, 400);
  });

  it('publishes build changes on /api/events; log event ids count bytes', async () => {
    const response = await fetch(`${harness.url}/api/events`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const id = await push('third change');
    let text = '';
    const seen = await waitFor(async () => {
      text += (await reader.read()).value ?? '';
      return parseSse(text).find((e) => e.event === 'build' && JSON.parse(e.data).id === id);
    });
    assert.ok(Number(seen.id) > 0);
    assert.equal(JSON.parse(seen.data).links.monitor.endsWith(`/monitor/builds/${id}`), true);
    await reader.cancel();

    // The same build's log, followed live: every id is the byte count up to the end of its chunk
    // (the ✓ line makes bytes and characters differ).
    const live = parseSse(await (await fetch(`${harness.url}/api/builds/${id}/log/stream`)).text());
    assert.equal(await stateOf(id), 'success');
    assert.equal(logText(live), await rawLog(id));
    assert.ok(live.length > 10, 'streamed in many chunks');
    let bytes = 0;
    for (const event of live.filter((e) => e.event === 'message')) {
      bytes += Buffer.byteLength((JSON.parse(event.data) as { text: string }).text);
      assert.equal(Number(event.id), bytes);
    }
  });

  it('keeps the last 5000 lines and follows the end only while the reader is at the bottom', async () => {
    // A build driven by hand (the scheduler paused), so the test decides when each line comes.
    const { store, bus, scheduler } = harness.service;
    scheduler.pause();
    const { build } = await store.createBuild({
      ...{ project: 'test', repository: REPOSITORY, refType: 'branch', branch: 'manual', kind: 'full' },
      ...{ commit: 'b'.repeat(40), pusher: null, deliveryId: null, commits: [] },
    });
    const logPath = join(harness.config.logsDirectory, `manual-${build.id}.log`);
    const startedAt = new Date().toISOString();
    bus.publishBuild((await store.transition(build.id, ['queued'], 'running', { startedAt, logPath }))!);
    const log = new BuildLog(logPath, build.id, bus);
    let printed = 0;
    const print = (count: number) => {
      for (let i = 0; i < count; i++) log.line(`row ${++printed}`);
    };
    print(6000);
    await page.goto(`${harness.url}/monitor/builds/${build.id}`);
    const view = page.locator('#log');
    const shown = async () => ((await view.textContent()) ?? '').split('\n').filter(Boolean);
    await waitFor(async () => (await shown()).at(-1) === 'row 6000', 10_000);
    assert.equal((await shown()).length, 5000);
    assert.equal((await shown())[0], 'row 1001');
    assert.equal(await page.locator('#log-note').isVisible(), true, 'says that lines were left out');
    const geometry = () =>
      view.evaluate((e) => ({ top: e.scrollTop, bottom: e.scrollHeight - e.clientHeight }));
    await waitFor(async () => ((g) => g.top >= g.bottom - 8)(await geometry()), 5_000);

    await view.evaluate((e) => (e.scrollTop = 200)); // the reader scrolls up
    await page.locator('#follow').waitFor({ state: 'visible', timeout: 5_000 });
    print(20);
    await waitFor(async () => (await shown()).at(-1) === `row ${printed}`, 5_000);
    assert.ok(Math.abs((await geometry()).top - 200) < 8, 'stays where the reader is');

    await page.locator('#follow').click();
    print(600); // past the cap: old lines go while following
    await waitFor(async () => (await shown()).at(-1) === `row ${printed}`, 5_000);
    await waitFor(async () => ((g) => g.top >= g.bottom - 8)(await geometry()), 5_000);
    assert.ok((await shown()).length <= 5500);

    log.close();
    const ended = await store.transition(build.id, ['running'], 'success', { finishedAt: startedAt });
    bus.publishBuild(ended!);
    scheduler.resume();
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 5_000 });
  });
});

describe('build controls when the service has an API token', { skip }, () => {
  let harness: Harness;
  let browser: Browser;

  before(async () => {
    harness = await startHarness({
      token: 'secret',
      apiTokens: ['api-secret'],
      executor: new FakeExecutor(),
      repositories: { [REPOSITORY]: fakeRule(['sleep 60']) },
    });
    await harness.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('enables cancel and rebuild once a token is set, and sends it (the webhook secret is refused)', async () => {
    const repo = new LocalRepo(harness.gitRoot, REPOSITORY);
    const commit = repo.commit('master', { 'file.txt': 'x' }, 'long build');
    const body = JSON.stringify(pushPayload({ repository: REPOSITORY, branch: 'master', commit }));
    const headers = webhookHeaders(body, { secret: 'secret' });
    const pushed = await fetch(`${harness.url}/build/test/hook`, { method: 'POST', headers, body });
    const { id } = (await pushed.json()) as { id: number };
    const page = await browser.newPage();
    await page.goto(`${harness.url}/monitor/builds/${id}`);
    assert.equal(await page.locator('#cancel').isDisabled(), true, 'no token stored yet');
    assert.equal(await page.locator('#rebuild').isDisabled(), true);

    page.once('dialog', (dialog) => void dialog.accept('secret'));
    await page.locator('#set-token').click();
    await page.locator('#cancel:enabled').waitFor({ timeout: 5_000 });
    await page.locator('#cancel').click();
    await page.locator('#control-result', { hasText: 'refused' }).waitFor({ timeout: 5_000 });

    page.once('dialog', (dialog) => void dialog.accept('api-secret'));
    await page.locator('#set-token').click();
    assert.equal(await page.evaluate(() => localStorage.getItem('autobuilder.token')), 'api-secret');
    await page.locator('#cancel').click();
    await page.locator('#state', { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#cancel').isDisabled(), true, 'nothing left to cancel');
    await page.locator('#rebuild').click();
    await page.locator('#control-result a', { hasText: `#${id + 1}` }).waitFor({ timeout: 5_000 });
    await harness.service.scheduler.cancel(id + 1);
  });
});
