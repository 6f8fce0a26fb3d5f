/**
 * The monitor at a glance, in a real headless Chromium against a real service: the empty state,
 * the tab's title and favicon following live builds (pushed, run by the fake executor), badges,
 * list columns and repository pages, HTML errors, and no sideways scroll at 390 px.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { removeHome, type Harness, waitFor, waitForFinal } from '../helpers/harness.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { FAILS, monitorHarness, OK, seedAll, type Seeded } from '../helpers/seeded-builds.js';

const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

describe('monitor at a glance', { skip }, () => {
  let harness: Harness;
  let repo: LocalRepo;
  let failsRepo: LocalRepo;
  let browser: Browser;
  let page: Page;
  let seeded: Seeded;

  // Not postPush(): end to end, the webhook comes over the service's socket as GitHub sends it.

  const push = async (local: LocalRepo, repository: string, message: string) => {
    const commit = local.commit('master', { 'file.txt': `${Date.now()} ${Math.random()}` }, message);
    const body = JSON.stringify(pushPayload({ repository, branch: 'master', commit, message }));
    const response = await fetch(`${harness.url}/build/test/hook`, {
      method: 'POST',
      headers: webhookHeaders(body),
      body,
    });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: number }).id;
  };

  const glanceOf = (p: Page) =>
    p.evaluate(() => ({
      title: document.title,
      icon: document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.dataset.glance,
      href: document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href ?? '',
    }));

  before(async () => {
    harness = await monitorHarness();
    repo = new LocalRepo(harness.gitRoot, OK);
    failsRepo = new LocalRepo(harness.gitRoot, FAILS);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('shows how to start when nothing was built: repositories, webhook URL, trigger command', async () => {
    await page.goto(`${harness.url}/monitor`);
    const start = page.locator('#getting-started');
    await start.waitFor();
    const text = (await start.textContent()) ?? '';
    assert.ok(text.includes(`${harness.config.publicUrl}/build/<project>/hook`), text);
    assert.ok(text.includes(`autobuilder trigger ${OK} master`));
    assert.ok(text.includes(`autobuilder trigger ${FAILS} master`));

    // Seeded only now: the empty state above needs a service without builds.
    seeded = await seedAll(harness);
  });

  it('turns the tab title and favicon running, then failed, then passed, on both pages', async () => {
    const monitor = await browser.newPage();
    await monitor.goto(`${harness.url}/monitor`);
    const failing = await push(failsRepo, FAILS, 'breaks');
    await waitFor(async () => (await harness.service.store.getBuild(failing))?.state === 'running');
    await page.goto(`${harness.url}/monitor/builds/${failing}`);
    assert.deepEqual((await glanceOf(page)).icon, 'running');
    assert.match((await glanceOf(page)).title, /^● #\d+ owner\/fails master$/);
    await waitFor(async () => (await glanceOf(monitor)).icon === 'running', 10_000);
    assert.match((await glanceOf(monitor)).title, /^● /);

    await waitFor(async () => (await glanceOf(page)).icon === 'failed', 15_000);
    assert.match((await glanceOf(page)).title, /^✗ #/);
    assert.match(decodeURIComponent((await glanceOf(page)).href), /fill="#cf222e"/);
    await waitFor(async () => (await glanceOf(monitor)).icon === 'failed', 10_000);
    assert.match((await glanceOf(monitor)).title, /^✗ Autobuilder monitor$/);
    // The failing step's real output, from a live build.
    await page.locator('#failure').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await page.locator('#failure').textContent()) ?? '', /undefined reference to 'bar'/);

    const passing = await push(repo, OK, 'fixed');
    await waitForFinal(harness, passing);
    await waitFor(async () => (await glanceOf(monitor)).icon === 'passed', 10_000);
    assert.match((await glanceOf(monitor)).title, /^✓ Autobuilder monitor$/);
    await monitor.close();
  });

  it('serves an SVG badge with the state of the branch newest build', async () => {
    const read = async (path: string) => {
      const response = await fetch(`${harness.url}${path}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^image\/svg\+xml/);
      const svg = await response.text();
      // Parsed as XML by the browser: a malformed SVG gives a <parsererror>.
      return page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        return {
          error: doc.getElementsByTagName('parsererror').length,
          root: doc.documentElement.localName,
          state: doc.querySelector('text[data-state]')?.textContent,
        };
      }, svg);
    };
    assert.deepEqual(await read(`/badge/${OK}.svg?branch=master`), {
      error: 0,
      root: 'svg',
      state: 'success',
    });
    assert.deepEqual(await read(`/badge/${FAILS}.svg`), { error: 0, root: 'svg', state: 'failed' });
    assert.deepEqual(await read(`/badge/${OK}.svg?branch=nope`), { error: 0, root: 'svg', state: 'unknown' });
    await page.goto(`${harness.url}/badge/${OK}.svg?branch=seed-failed`);
    assert.equal(await page.locator('text[data-state]').textContent(), 'failed');
  });

  it('lists with headers, icon and word, "ago" times; a repository page filters by branch and pages', async () => {
    await page.goto(`${harness.url}/monitor`);
    const headers = await page.locator('#recent thead th').allTextContents();
    assert.deepEqual(headers, [
      'Build',
      'Repository',
      'Branch',
      'Commit',
      'Pusher',
      'State',
      'Engine',
      'Started',
      'Duration',
      'Queued',
      'Kernel',
    ]);
    const failedRow = page.locator(`#recent tr[data-id="${seeded.failed}"]`);
    assert.equal(await failedRow.locator('.state-icon').textContent(), '✗');
    assert.match((await failedRow.locator('.state').textContent()) ?? '', /failed/);
    const started = failedRow.locator('td[data-label="Started"] time');
    assert.match((await started.textContent()) ?? '', /\d+ d ago/);
    assert.equal(await started.getAttribute('title'), 'Thu, 01 Jan 2026 10:00:00 GMT');
    assert.equal(await failedRow.locator('td[data-label="Duration"]').textContent(), '2m00s');
    assert.equal(await failedRow.locator('a.sha').count(), 0, 'a local git.url has no web pages to link');

    await page.goto(`${harness.url}/monitor/${OK}?limit=2`);
    const ids = async () =>
      (
        await page
          .locator('#builds tbody tr.build')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))
      ).map(Number);
    const first = await ids();
    assert.equal(first.length, 2);
    const seen = [...first];
    while (await page.locator('#next-page').count()) {
      await page.click('#next-page');
      seen.push(...(await ids()));
    }
    const all = (await harness.service.store.listRepositoryBuilds({ repository: OK, limit: 500 })).builds;
    assert.deepEqual(
      seen,
      all.map((b) => b.id),
      'every build of the repository once, newest first',
    );
    await page.fill('.filter input[name="branch"]', 'seed-failed');
    await page.click('.filter button');
    assert.deepEqual(await ids(), [seeded.failed]);
  });

  it('answers an unknown build page with an HTML 404, and the API with JSON', async () => {
    const response = await page.goto(`${harness.url}/monitor/builds/999999`);
    assert.equal(response?.status(), 404);
    assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
    assert.equal(await page.locator('h1').textContent(), 'Not found');
    assert.equal(await page.locator('#error').getAttribute('data-code'), 'NOT_FOUND');
    const api = await fetch(`${harness.url}/api/builds/999999`, { headers: { accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: string }).error, 'NOT_FOUND');
  });

  it('has no horizontal scroll at 390 px on any page', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    for (const path of [
      '/monitor',
      `/monitor/builds/${seeded.failed}`,
      `/monitor/builds/${seeded.long}`,
      `/monitor/builds/${seeded.pruned}`,
      `/monitor/${OK}`,
      '/monitor/history',
      '/monitor/queued',
      '/monitor/builds/999999',
    ]) {
      await phone.goto(`${harness.url}${path}`);
      if (
        path.startsWith('/monitor/builds/') &&
        !path.endsWith('999999') &&
        path !== `/monitor/builds/${seeded.pruned}`
      )
        await phone.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${path}: scrollWidth ${width}`);
    }
    await phone.close();
  });
});
