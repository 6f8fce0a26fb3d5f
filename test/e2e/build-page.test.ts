/**
 * The build page as a reader uses it, in a real headless Chromium against a real service: coloured
 * log lines, `#L…` links, folding steps, the failing step's last lines, whole-log search and a
 * pruned log. The builds are seeded as the scheduler leaves them (test/helpers/seeded-builds.ts).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { removeHome, type Harness } from '../helpers/harness.js';
import { monitorHarness, seedAll, type Seeded } from '../helpers/seeded-builds.js';

const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

describe('build page for readers', { skip }, () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let seeded: Seeded;

  before(async () => {
    harness = await monitorHarness();
    seeded = await seedAll(harness);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
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

    await page.goto(`${harness.url}/monitor/builds/${seeded.colour}`);
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
});
