/**
 * One connection per page, in a real headless Chromium against a real service (fake executor
 * whose steps block, local git repository, loopback HTTP). Chromium holds at most 6 connections
 * per host: with one stream per running build, 8 running builds froze the monitor. Now the monitor
 * has one stream (`/api/events?tails=1`) carrying build changes and every running build's tail,
 * and the build page one (its log stream, which carries the build's changes too).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

const REPOSITORY = 'owner/name';
const RUNNING = 8;
// Outside CI a machine without Chromium skips; under CI the test must run, so it fails instead.
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

describe('one connection per page with 8 builds running', { skip }, () => {
  let harness: Harness;
  let repo: LocalRepo;
  let browser: Browser;
  const ids: number[] = [];

  // Not postPush(): end to end, the webhook comes over the service's socket as GitHub sends it.

  const push = async (branch: string) => {
    const commit = repo.commit(branch, { 'file.txt': branch }, `change on ${branch}`);
    const body = JSON.stringify(pushPayload({ repository: REPOSITORY, branch, commit }));
    const response = await fetch(`${harness.url}/build/test/hook`, {
      method: 'POST',
      headers: webhookHeaders(body),
      body,
    });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { id: number }).id;
  };
  const openWatchers = async () => (await harness.service.metrics.streamWatchers.get()).values[0]?.value;
  /** Counts the page's streams as Chromium sees them (EventSource requests). */
  const countStreams = (page: Page) => {
    const streams: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'eventsource') streams.push(request.url());
    });
    return streams;
  };

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is required for the monitor tests and is missing at ${CHROMIUM}`);
    }
    harness = await startHarness({
      executor: new FakeExecutor(),
      concurrency: RUNNING,
      repositories: {
        // Each build prints a line and then blocks until it is cancelled at the end.
        [REPOSITORY]: fakeRule(['echo started $AUTOBUILD_BRANCH && sleep 600']),
      },
    });
    await harness.listen();
    repo = new LocalRepo(harness.gitRoot, REPOSITORY);
    for (let i = 1; i <= RUNNING; i++) ids.push(await push(`branch-${i}`));
    await waitFor(async () => (await harness.service.store.countByState()).running === RUNNING);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    for (const id of ids) await harness?.service.scheduler.cancel(id);
    for (const id of ids) if (harness) await waitForFinal(harness, id);
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('shows every running tail and a new push on /monitor without a reload, over one stream', async () => {
    const page = await browser.newPage();
    const streams = countStreams(page);
    await page.goto(`${harness.url}/monitor`);
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    assert.equal(await page.locator('#running tr.build').count(), RUNNING);

    const queued = await push('branch-9');
    ids.push(queued);
    await page.locator(`#queued tr.build[data-id="${queued}"]`).waitFor({ timeout: 10_000 });
    for (let i = 1; i <= RUNNING; i++) {
      const tail = page.locator(`pre.tail[data-build="${ids[i - 1]}"]`);
      await waitFor(async () => ((await tail.textContent()) ?? '').includes(`started branch-${i}`), 10_000);
    }
    assert.equal(await page.evaluate(() => 'notReloaded' in window), true, 'the page was not reloaded');
    assert.deepEqual(streams, [`${harness.url}/api/events?tails=1`], 'one stream for the whole page');
    assert.equal(await openWatchers(), 1, 'the service holds one stream for it');
    await page.close();
  });

  it('keeps the build page to one stream that carries its log and its state', async () => {
    const page = await browser.newPage();
    const streams = countStreams(page);
    const id = ids[0]!;
    await page.goto(`${harness.url}/monitor/builds/${id}`);
    await waitFor(
      async () => ((await page.locator('#log').textContent()) ?? '').includes('started branch-1'),
      10_000,
    );
    await harness.service.scheduler.cancel(id);
    await page.locator('#state', { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(streams, [`${harness.url}/api/builds/${id}/log/stream?offset=0`], 'one stream');
    await page.close();
  });
});
