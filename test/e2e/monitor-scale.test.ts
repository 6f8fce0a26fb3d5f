/**
 * The monitor with 5000 queued builds, in a real headless Chromium against a real service (SQLite
 * file, loopback HTTP): the page shows the first 50 and a count, renders within the 1 s the issue
 * names, stays small, and the rest of the queue is reachable page by page.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { fakeRule } from '../helpers/fake-rule.js';

const QUEUED = 5000;
const RULE = fakeRule(['echo hi']);
// Outside CI a machine without Chromium skips; under CI the test must run, so it fails instead.
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

describe('the monitor with 5000 queued builds', { skip }, () => {
  let h: Harness;
  let browser: Browser;
  let first: number;
  before(async () => {
    h = await startHarness({
      repositories: { 'owner/name': RULE },
      executor: new FakeExecutor(),
      extra: { max_queued_per_repository: QUEUED, max_queued: QUEUED },
    });
    h.service.scheduler.pause();
    // Straight into the store: the flood's result is under test here, not the webhook.
    for (let i = 0; i < QUEUED; i += 1) {
      const commit = i.toString(16).padStart(40, '0');
      const { build } = await h.service.store.createBuild({
        ...{ project: 'flood', repository: 'owner/name', refType: 'branch', branch: `flood-${i}` },
        ...{ commit, kind: 'full', pusher: 'flooder', deliveryId: null },
        commits: [{ sha: commit, message: `change ${i}`, author: 'Flooder', url: 'https://example.com/c' }],
      });
      if (i === 0) first = build.id;
    }
    await h.listen();
    // The client bundle is built once, on its first request (routes/assets.ts): a one-time cost
    // of the process, not of rendering a page, so it is paid before the clock starts.
    assert.equal((await fetch(`${h.url}/monitor/assets/monitor.js`)).status, 200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    if (h) removeHome(h);
  });

  it('renders the first 50 and the count in Chromium in under 1 s', async () => {
    const page = await browser.newPage();
    try {
      const started = Date.now();
      await page.goto(`${h.url}/monitor`);
      await page.locator('#queued tr.build').nth(49).waitFor({ timeout: 10_000 });
      await page.locator('#queued-more').waitFor({ timeout: 10_000 });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 1000, `rendered in ${elapsed} ms`);
      assert.equal(await page.locator('#queued tr.build').count(), 50);
      assert.equal(await page.locator('h2 .count').nth(1).textContent(), String(QUEUED));
      assert.match((await page.locator('#queued-more').textContent()) ?? '', /and 4950 more/);
      // The page's own refresh over SSE (GET /monitor/fragment) keeps the same bounded list.
      await page.waitForFunction(() => document.querySelector('#lists')?.getAttribute('data-refreshed'), {
        timeout: 10_000,
      });
      assert.equal(await page.locator('#queued tr.build').count(), 50);
    } finally {
      await page.close();
    }
  });

  it('keeps /monitor, /monitor/fragment and /build/status small', async () => {
    const monitor = await (await fetch(`${h.url}/monitor`)).text();
    assert.ok(monitor.length < 100_000, `monitor is ${monitor.length} bytes`);
    assert.equal(monitor.match(/<tr class="build state-queued"/g)?.length, 50);
    const fragment = await (await fetch(`${h.url}/monitor/fragment`)).text();
    assert.ok(fragment.length < 100_000, `fragment is ${fragment.length} bytes`);
    const status = await fetch(`${h.url}/build/status`);
    const body = await status.text();
    assert.ok(body.length < 300_000, `/build/status is ${body.length} bytes`);
    const json = JSON.parse(body) as { queued: { id: number }[]; counts: { queued: number } };
    assert.equal(json.queued.length, 100);
    assert.equal(json.queued[0]!.id, first);
    assert.equal(json.counts.queued, QUEUED);
  });

  it('reaches the rest of the queue page by page from the "more" link', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${h.url}/monitor`);
      await page.locator('#queued-more a').click();
      await page.waitForURL(/\/monitor\/queued\?cursor=/);
      const ids = async () =>
        page
          .locator('#queued tr.build')
          .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
      const second = await ids();
      assert.deepEqual(
        second,
        Array.from({ length: 50 }, (_, i) => first + 50 + i),
      );
      await page.locator('#next-page').click();
      await page.waitForURL(/cursor=/);
      assert.equal((await ids())[0], first + 100);
    } finally {
      await page.close();
    }
  });
});
