/**
 * The monitor in a real headless Chromium while PostgreSQL (a private server of the test's own)
 * goes away and comes back (issue 12): the page shows the database banner without a reload, and
 * once the database is back the banner goes and a new push appears, still without a reload.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { PrivatePostgres, privatePostgresSkip } from '../helpers/private-postgres.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';
import { fakeRule } from '../helpers/fake-rule.js';

// Outside CI a machine without Chromium skips; under CI the test must run, so it fails instead.
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : privatePostgresSkip;

describe('the monitor during a database outage', { skip }, () => {
  let pg: PrivatePostgres;
  let h: Harness;
  let browser: Browser;

  before(async () => {
    pg = await PrivatePostgres.create();
    await pg.start();
    h = await startHarness({
      repositories: {
        'acme/banner': fakeRule(['echo kernel > /target/vmlinuz.efi']),
      },
      executor: new FakeExecutor(),
      extra: { database_url: pg.url },
    });
    await h.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await pg?.start().catch(() => undefined);
    await h?.close().catch(() => undefined);
    if (h) removeHome(h);
    await pg?.destroy();
  });

  it('shows the banner while the database is away and the lists again when it is back', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.url}/monitor`);
    await page.waitForFunction(() => document.querySelector('#lists')?.getAttribute('data-refreshed'));
    assert.equal(await page.locator('#database-problem').count(), 0);

    await pg.stop();
    const banner = page.locator('#database-problem');
    await banner.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match((await banner.textContent()) ?? '', /Database unreachable: /);

    await pg.start();
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    const repo = new LocalRepo(h.gitRoot, 'acme/banner');
    const commit = repo.commit('main', { a: '1' });
    const body = JSON.stringify(pushPayload({ repository: 'acme/banner', branch: 'main', commit }));
    const answer = await fetch(`${h.url}/build/banner/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body),
    });
    assert.equal(answer.status, 202);
    const { id } = (await answer.json()) as { id: number };
    await page.locator(`#recent tr[data-id="${id}"]`).waitFor({ timeout: 20_000 });
  });
});
