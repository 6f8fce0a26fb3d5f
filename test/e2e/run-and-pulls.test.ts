/**
 * In a real headless Chromium against a real service (fake executor, local git repository):
 * the monitor's "Run a build" form queues a build as `autobuilder trigger` does, and it appears
 * in the lists; a pull request build reads `PR #N <title>`, waits for approval, and the build
 * page's approve button approves it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, type Harness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

describe('Run from the monitor, pull requests on the pages', () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let master: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required and is missing at ${CHROMIUM}`);
    harness = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        'acme/os': fakeRule(['true'], { repository_config: false }),
        'acme/other': fakeRule(),
      },
    });
    await harness.listen();
    master = new LocalRepo(harness.gitRoot, 'acme/os').commit('master', { a: '1' });
    harness.service.scheduler.pause();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('queues a build with Run and shows it in the queue', async () => {
    await page.goto(`${harness.url}/monitor`);
    const form = page.locator('#run-form');
    await form.locator('select[name=repository]').selectOption('acme/os');
    await form.locator('input[name=ref]').fill('master');
    await form.locator('#run-button').click();
    const link = page.locator('#run-result a');
    await link.waitFor({ timeout: 20_000 });
    const id = Number((await link.textContent())!.slice(1));
    const build = await harness.service.store.getBuild(id);
    assert.equal(build?.commit, master, 'the branch head, resolved by the service');
    assert.equal(build?.refType, 'branch');
    const row = page.locator(`#queued tr.build[data-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal((await row.locator('td.branch').textContent())?.trim(), 'master');

    // A tag at a given commit; a bad one is refused with the server's message.
    await form.locator('select[name=refType]').selectOption('tag');
    await form.locator('input[name=ref]').fill('v1.0');
    await form.locator('input[name=commit]').fill('b'.repeat(40));
    await form.locator('#run-button').click();
    await page.locator('#run-result a', { hasNotText: `#${id}` }).waitFor({ timeout: 20_000 });
    const tagId = Number((await page.locator('#run-result a').textContent())!.slice(1));
    const tag = await harness.service.store.getBuild(tagId);
    assert.deepEqual([tag?.refType, tag?.branch, tag?.commit], ['tag', 'v1.0', 'b'.repeat(40)]);
    await form.locator('input[name=commit]').fill('');
    await form.locator('select[name=repository]').selectOption('acme/other');
    await form.locator('#run-button').click();
    await page.locator('#run-result', { hasText: 'refused' }).waitFor({ timeout: 20_000 });
  });

  it('shows a pull request as PR #N with its title, waiting for approval, and approves it', async () => {
    const { build } = await harness.service.scheduler.enqueue({
      project: 'p',
      repository: 'acme/os',
      refType: 'pull',
      branch: 'pr-4',
      commit: 'c'.repeat(40),
      kind: 'full',
      pusher: 'stranger',
      deliveryId: null,
      commits: [],
      pull: {
        number: 4,
        title: 'Add <b>bold</b> things',
        baseBranch: 'master',
        headRepository: 'stranger/os',
        fork: true,
        author: 'stranger',
        approval: 'awaiting',
      },
    });
    await page.goto(`${harness.url}/monitor`);
    const row = page.locator(`#queued tr.build[data-id="${build.id}"]`);
    await row.waitFor();
    assert.equal((await row.locator('td.branch').textContent())?.trim(), 'PR #4 Add <b>bold</b> things');
    assert.equal((await row.locator('td.waiting').textContent())?.trim(), 'waiting for approval');

    await page.goto(`${harness.url}/monitor/builds/${build.id}`);
    assert.match((await page.locator('h1 .branch').textContent()) ?? '', /^PR #4 Add <b>bold<\/b> things$/);
    assert.match(
      ((await page.locator('#pull').textContent()) ?? '').replace(/\s+/g, ' '),
      /by stranger from stranger\/os \(fork\) into master — waiting for approval/,
    );
    await page.locator('#approve').click();
    await page.locator('#control-result', { hasText: 'approved' }).waitFor({ timeout: 10_000 });
    assert.equal((await harness.service.store.getBuild(build.id))?.pull?.approval, 'approved');
  });
});
