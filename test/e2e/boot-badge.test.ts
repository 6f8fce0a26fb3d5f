/**
 * The boot test's outcome in a real headless Chromium: the build page's summary is redrawn by
 * the browser from the live `event: build` (web/build-summary.ts), the monitor's lists by the
 * server. The outcome is written as the scheduler writes it (store transition, then the event);
 * the boots themselves are in test/integration/boot-test.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { enqueuePush, removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

describe('boot test outcome on the monitor pages', () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required and is missing at ${CHROMIUM}`);
    harness = await startHarness({
      executor: new FakeExecutor(),
      repositories: { 'acme/os': fakeRule(['true']) },
    });
    await harness.listen();
    harness.service.scheduler.pause();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  async function finish(id: number, state: 'success' | 'failed', boot: { ok: boolean; seconds: number }) {
    const { store, bus } = harness.service;
    await store.transition(id, ['queued'], 'running', { startedAt: new Date().toISOString() });
    const done = await store.transition(id, ['running'], state, {
      boot,
      finishedAt: new Date().toISOString(),
      ...(state === 'failed'
        ? { reason: 'boot test: no `up` within 3m; last console lines:\nKernel panic' }
        : {}),
    });
    bus.publishBuild(done!);
  }

  it('shows "boots ✓ 7.3 s" and "boot failed", live on the build page and in the list', async () => {
    const booted = await enqueuePush(harness, 'acme/os', 'master', 'a'.repeat(40));
    await page.goto(`${harness.url}/monitor/builds/${booted.id}`);
    await page.locator('#summary #state', { hasText: 'queued' }).waitFor();
    assert.equal(await page.locator('#summary .boot').count(), 0, 'nothing before the boot test');
    await finish(booted.id, 'success', { ok: true, seconds: 7.3 });
    await page.locator('#summary .boot-ok', { hasText: 'boots ✓ 7.3 s' }).waitFor({ timeout: 10_000 });

    const failed = await enqueuePush(harness, 'acme/os', 'other', 'b'.repeat(40));
    await page.goto(`${harness.url}/monitor/builds/${failed.id}`);
    await page.locator('#summary #state', { hasText: 'queued' }).waitFor();
    await finish(failed.id, 'failed', { ok: false, seconds: 180 });
    await page.locator('#summary .boot-failed', { hasText: 'boot failed' }).waitFor({ timeout: 10_000 });

    await page.goto(`${harness.url}/monitor`);
    const row = (id: number) => page.locator(`#recent tr.build[data-id="${id}"] .boot`);
    assert.equal(await row(booted.id).textContent(), 'boots ✓ 7.3 s');
    assert.equal(await row(failed.id).textContent(), 'boot failed');
  });
});
