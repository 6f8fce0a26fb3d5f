/**
 * Per-line times on the build page, in a real Chromium against a real service and the real Docker
 * engine: the Times toggle dates the lines already on the page and a line that arrives live, and
 * the dates follow what the step did (it prints, waits for a file the test creates, prints again).
 * A build whose log has no times (written before they were kept) says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { timesPath } from '../../src/domain/log-files.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { BUILD_LABEL, INSTANCE_LABEL } from '../../src/executor/executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  removeHome,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';

const REPOSITORY = 'acme/times';
const STEP =
  'echo first line; echo second line; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo third line';

const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`
    : false;

/** Other sessions build on the same engine with the same ids: ours are told apart by instance. */
const INSTANCE = `build-page-times-${process.pid}`;

/**
 * Releases build `id`'s step (`touch /tmp/go` in its container). The step then ends, and the
 * service removes its container, as soon as 50 ms later: `docker exec` can fail on its own
 * after the file is made (its exit code asked of a container already gone). Whether it ran is
 * what the build does next, which each test waits for; a container not found fails here.
 */
function release(id: number): void {
  const container = containerOf(id);
  assert.ok(container, `no running container for build #${id}`);
  try {
    execFileSync('docker', ['exec', container, 'touch', '/tmp/go'], { stdio: 'pipe' });
  } catch {
    // See above: the build's next lines or its end say whether the step was released.
  }
}

/** The running container of build `id` (labelled by the executor), to release its step. */
function containerOf(id: number): string | undefined {
  const out = execFileSync('docker', [
    'ps',
    '-q',
    '--filter',
    `label=${INSTANCE_LABEL}=${INSTANCE}`,
    '--filter',
    `label=${BUILD_LABEL}=${id}`,
  ]).toString();
  return out.trim().split('\n').filter(Boolean)[0];
}

describe('build page: line times', { skip }, () => {
  let harness: Harness;
  let browser: Browser;
  let repo: LocalRepo;

  before(async () => {
    const docker = await requireDocker();
    harness = await startHarness({
      executor: new DockerExecutor(docker, INSTANCE),
      repositories: { [REPOSITORY]: { image: TEST_IMAGE, checkout: '/src', network: 'none', steps: [STEP] } },
    });
    await harness.listen();
    repo = new LocalRepo(harness.gitRoot, REPOSITORY);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (harness) removeHome(harness);
  });

  it('shows each line its time, a live line too, later for the line printed after the wait', async () => {
    const build = await enqueuePush(harness, REPOSITORY, 'master', repo.commit('master', { a: '1' }));
    const page = await browser.newPage();
    await page.goto(`${harness.url}/monitor/builds/${build.id}`);
    await page.locator('#log .lt', { hasText: /^second line\n$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#log .tm:visible').count(), 0, 'no times until asked for');
    await page.locator('#times-toggle').click();
    const second = page.locator('.line', { has: page.locator('.lt', { hasText: /^second line\n$/ }) });
    await second.locator('.tm[data-t]').waitFor({ timeout: 10_000 });
    const released = Date.now();
    release(build.id);
    // The third line arrives live, while the toggle is on: it gets its time without a reload.
    const third = page.locator('.line', { has: page.locator('.lt', { hasText: /^third line\n$/ }) });
    await third.locator('.tm[data-t]').waitFor({ timeout: 30_000 });
    // The build's last lines (its end marker) come after it: wait for them to be dated too.
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 60_000 });
    await waitFor(
      async () =>
        (await page.locator('#log .line').count()) ===
        (await page.locator('#log .line .tm[data-ms]').count()),
      10_000,
    );
    const dated = await page.locator('#log .line').evaluateAll((lines) =>
      lines.map((line) => ({
        text: line.querySelector('.lt')?.textContent ?? '',
        ms: Number(line.querySelector<HTMLElement>('.tm')?.dataset.ms ?? Number.NaN),
        shown: line.querySelector<HTMLElement>('.tm')?.dataset.t ?? '',
        title: line.querySelector<HTMLElement>('.tm')?.title ?? '',
        visible: line.querySelector('.tm') ? getComputedStyle(line.querySelector('.tm')!).display : '',
      })),
    );
    const byText = (text: string) => dated.find((line) => line.text === `${text}\n`)!;
    const [first, second_, third_] = ['first line', 'second line', 'third line'].map(byText);
    assert.ok(first && second_ && third_, JSON.stringify(dated));
    for (const line of dated) {
      assert.ok(Number.isFinite(line.ms), `line ${JSON.stringify(line.text)} has a time`);
      assert.match(line.shown, /^\+\d+\.\d{3}s$/);
      assert.notEqual(line.title, '', 'the absolute time on hover');
      assert.equal(line.visible, 'block');
    }
    // Times never go back, and the line printed after the wait is dated after the release.
    for (let i = 1; i < dated.length; i++) assert.ok(dated[i]!.ms >= dated[i - 1]!.ms, JSON.stringify(dated));
    assert.ok(second_!.ms < released, 'the second line came before the step was released');
    assert.ok(third_!.ms >= released, `third line at ${third_!.ms}, released at ${released}`);
    // The times sit beside the log: the text of the page (and of a copy) is still only the log.
    assert.doesNotMatch((await page.locator('#log').textContent()) ?? '', /\+\d+\.\d{3}s/);

    await page.locator('#times-toggle').click();
    assert.equal(await page.locator('#log .tm:visible').count(), 0, 'toggled off again');
    const ended = await waitForFinal(harness, build.id, 60_000);
    assert.equal(ended.state, 'success', ended.reason ?? '');
    await page.close();
  });

  it('says so for a build whose log has no recorded times', async () => {
    const build = await enqueuePush(harness, REPOSITORY, 'old', repo.commit('old', { b: '1' }));
    await waitFor(() => containerOf(build.id), 30_000);
    release(build.id);
    const ended = await waitForFinal(harness, build.id, 60_000);
    // As a log written before line times existed: the file beside it is not there.
    rmSync(timesPath(ended.logPath!));
    const page = await browser.newPage();
    await page.goto(`${harness.url}/monitor/builds/${build.id}`);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#times-note').isVisible(), false);
    await page.locator('#times-toggle').click();
    await page.locator('#times-note').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await page.locator('#times-note').textContent()) ?? '', /not recorded/);
    assert.equal(await page.locator('#log .tm').count(), 0);
    await page.close();
  });
});
