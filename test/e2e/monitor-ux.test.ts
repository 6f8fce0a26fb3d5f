/**
 * The monitor as a reader uses it, in a real headless Chromium against a real service: coloured
 * log lines, `#L…` links, folding steps, whole-log search, the failing step's last lines, a pruned
 * log, the tab's title and favicon, badges, repository pages, HTML errors and a 390 px screen.
 * Finished builds are seeded (store records and log files, as the scheduler leaves them); the
 * live ones are pushed and run by the fake executor.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { BuildState, StepRecord } from '../../src/domain/build.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { newBuild } from '../unit/store.contract.js';

const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

const OK = 'owner/name';
const FAILS = 'owner/fails';
const RED = '\x1b[31mred text\x1b[0m plain \x1b[1;32mbold green\x1b[0m';

/** 12,000 lines in two steps; line 100 is a needle the page no longer holds (it keeps 5,000). */
function longLog(id: number): string {
  const lines = [
    `==> build #${id}: ${OK} branch seed-long at ${'a'.repeat(40)}`,
    '==> step 1/2: make all',
    RED,
  ];
  while (lines.length < 99) lines.push(`compile ${lines.length + 1}`);
  lines.push('needle: the one at line 100');
  while (lines.length < 6000) lines.push(`compile ${lines.length + 1}`);
  lines.push('==> step 2/2: make install');
  while (lines.length < 11_999) lines.push(`install ${lines.length + 1}`);
  lines.push('==> success');
  return lines.join('\n') + '\n';
}

/** 303 lines; step 2 fails, its error in its last lines. */
function failedLog(id: number): string {
  const lines = [
    `==> build #${id}: ${OK} branch seed-failed at ${'a'.repeat(40)}`,
    '==> step 1/2: ./configure',
  ];
  while (lines.length < 150) lines.push(`checking feature ${lines.length + 1}`);
  lines.push('==> step 2/2: make');
  while (lines.length < 300) lines.push(`cc file${lines.length + 1}.c`);
  lines.push("src/main.c:12: error: undefined reference to 'foo'", 'make: *** [all] Error 2');
  lines.push('==> failed: step 2 (make) exited with code 2');
  return lines.join('\n') + '\n';
}

const step = (index: number, command: string, exitCode: number): StepRecord => ({
  index,
  command,
  startedAt: '2026-01-01T10:00:00.000Z',
  finishedAt: '2026-01-01T10:01:05.000Z',
  exitCode,
});

describe('monitor for readers', { skip }, () => {
  let harness: Harness;
  let repo: LocalRepo;
  let failsRepo: LocalRepo;
  let browser: Browser;
  let page: Page;
  const seeded: Record<string, number> = {};

  /** A finished build as the scheduler leaves it: record, steps, log file (or none: pruned). */
  const seed = async (
    branch: string,
    state: BuildState,
    options: { log?: (id: number) => string; steps?: StepRecord[]; reason?: string } = {},
  ) => {
    const { store } = harness.service;
    const { build } = await store.createBuild(newBuild({ repository: OK, branch, project: 't' }));
    const logPath = join(harness.home, 'logs', `build-${build.id}.log`);
    if (options.log) writeFileSync(logPath, options.log(build.id));
    await store.transition(build.id, ['queued'], 'running', {
      startedAt: '2026-01-01T10:00:00.000Z',
      logPath,
    });
    await store.transition(build.id, ['running'], state, {
      finishedAt: '2026-01-01T10:02:00.000Z',
      steps: options.steps ?? [],
      reason: options.reason ?? null,
      ...(options.log ? {} : { logPath: null }),
    });
    return build.id;
  };

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
    harness = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        [OK]: {
          image: 'fake/base:latest',
          checkout: '/src',
          steps: ['echo built', 'echo k > /target/vmlinuz.efi'],
        },
        [FAILS]: {
          image: 'fake/base:latest',
          checkout: '/src',
          steps: ['echo compiling && sleep 1.5', "echo error: undefined reference to 'bar' && exit 2"],
        },
      },
    });
    await harness.listen();
    mkdirSync(join(harness.home, 'logs'), { recursive: true });
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

    // Seeded here, after the empty state was seen; the queue is paused meanwhile.
    harness.service.scheduler.pause();
    seeded.long = await seed('seed-long', 'success', {
      log: longLog,
      steps: [step(1, 'make all', 0), step(2, 'make install', 0)],
    });
    seeded.failed = await seed('seed-failed', 'failed', {
      log: failedLog,
      steps: [step(1, './configure', 0), step(2, 'make', 2)],
      reason: 'step 2 (make) exited with code 2',
    });
    seeded.pruned = await seed('seed-pruned', 'success');
    harness.service.scheduler.resume();
  });

  it('renders colours as styled spans and numbers every line of the whole log', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.long}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    const red = page.locator('#log span', { hasText: /^red text$/ });
    assert.equal(await red.count(), 0, 'line 3 is past the 5,000 kept: not on the page');
    // The last line is 12,000: numbered in the whole log, not on the page.
    assert.equal(await page.locator('#L12000 .lt').textContent(), '==> success\n');
    assert.equal(await page.locator('#L6999').count(), 0);
    assert.equal(await page.locator('#log-note').isVisible(), true);

    await page.goto(`${harness.url}/monitor/builds/${seeded.failed}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    // failedLog has no colours; the long log's coloured line is checked through a small build.
    const coloured = await seed('seed-colour', 'success', {
      log: (id) => `==> build #${id}: x\n==> step 1/1: make\n${RED}\n`,
      steps: [step(1, 'make', 0)],
    });
    await page.goto(`${harness.url}/monitor/builds/${coloured}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    const styles = await page.locator('#L3 .lt span').evaluateAll((spans) =>
      spans.map((span) => ({
        text: span.textContent,
        color: getComputedStyle(span).color,
        weight: getComputedStyle(span).fontWeight,
      })),
    );
    assert.deepEqual(
      styles.map((s) => s.text),
      ['red text', 'bold green'],
    );
    assert.equal(styles[0]!.color, 'rgb(187, 0, 0)');
    assert.equal(styles[1]!.color, 'rgb(0, 187, 0)');
    assert.equal(styles[1]!.weight, '700');
    assert.equal(await page.locator('#L3 .lt').textContent(), 'red text plain bold green\n');
    assert.equal((await page.locator('#log').textContent())?.includes('\x1b'), false, 'no escape shown');
  });

  it('opens #L120 highlighted and scrolled into view, and a line number click selects its line', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.failed}#L120`);
    await page.locator('#L120.selected').waitFor({ timeout: 15_000 });
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    const inView = () =>
      page.evaluate(() => {
        const log = document.querySelector('#log')!.getBoundingClientRect();
        const line = document.querySelector('#L120')!.getBoundingClientRect();
        return line.top >= log.top && line.bottom <= log.bottom;
      });
    assert.equal(await inView(), true, 'line 120 is in the visible part of the log');
    assert.equal(await page.locator('.line.selected').count(), 1);
    assert.equal(await page.locator('#L120 .lt').textContent(), 'checking feature 120\n');
    await page.locator('#L130 a.ln').click();
    await page.locator('#L130.selected').waitFor();
    assert.equal(new URL(page.url()).hash, '#L130');
    assert.equal(await page.locator('#L120.selected').count(), 0);
  });

  it('folds and unfolds a step, whose summary shows its exit code and duration', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.failed}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    const section = page.locator('details.section[data-step="1"]');
    const meta = async (n: number) =>
      page
        .locator(`details.section[data-step="${n}"] .section-meta`)
        .evaluate((el) => getComputedStyle(el, '::after').content);
    assert.equal(await meta(1), '"exit 0 · 1m05s"');
    assert.equal(await meta(2), '"exit 2 · 1m05s"');
    assert.equal(await page.locator('#L120').isVisible(), true);
    await section.locator('summary').click({ position: { x: 4, y: 4 } });
    assert.equal(await section.getAttribute('open'), null);
    assert.equal(await page.locator('#L120').isVisible(), false, 'folded');
    assert.equal(await page.locator('#L160').isVisible(), true, 'step 2 stays open');
    await section.locator('summary').click({ position: { x: 4, y: 4 } });
    assert.equal(await page.locator('#L120').isVisible(), true, 'unfolded');
  });

  it('shows the last lines of the failing step under the reason', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.failed}`);
    const failure = page.locator('#failure');
    await failure.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await failure.textContent()) ?? '';
    assert.match(text, /step 2 \(make\)/);
    assert.match(text, /error: undefined reference to 'foo'/);
    assert.match(text, /make: \*\*\* \[all\] Error 2/);
    assert.doesNotMatch(text, /checking feature/, 'only the failing step');
  });

  it('finds a line that is no longer on the page with the server-side search', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.long}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#L100').count(), 0, 'line 100 is not on the page');
    await page.fill('#log-search input[name="q"]', 'NEEDLE');
    await page.click('#log-search button');
    const result = page.locator('#search-results li');
    await result.first().waitFor({ timeout: 10_000 });
    assert.equal(await result.count(), 1);
    assert.equal(await result.locator('a').getAttribute('href'), '#L100');
    assert.equal(await result.locator('.match-text').textContent(), 'needle: the one at line 100');
    // The match's link: the line is not on the page, and the page says so.
    await result.locator('a').click();
    const missing = page.locator('#line-missing');
    await missing.waitFor({ state: 'visible' });
    assert.match((await missing.textContent()) ?? '', /^Line 100 is no longer on the page/);
    const bad = await fetch(`${harness.url}/api/builds/${seeded.long}/log/search?q=`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: string }).error, 'BAD_REQUEST');
  });

  it('says a pruned log was removed, instead of an empty box', async () => {
    await page.goto(`${harness.url}/monitor/builds/${seeded.pruned}`);
    const note = (await page.locator('#log-missing').textContent()) ?? '';
    assert.match(note, /removed by retention/);
    assert.match(note, /newest\s+10 finished builds/);
    assert.equal(
      await page.locator('#log-missing time').first().getAttribute('datetime'),
      '2026-01-01T10:00:00.000Z',
    );
    assert.equal(await page.locator('#log').isVisible(), false);
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
