/**
 * Two replicas of the real CLI on one PostgreSQL database (a private server of this test's own),
 * one logs directory, one Docker engine. A push goes to replica B, which runs the build; the
 * build page on replica A, in a real Chromium, shows it running and its log lines as they come,
 * to its end. Either replica may claim the build (leases): the page is opened on the one that
 * does not own it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/harness.js';
import { PrivatePostgres, privatePostgresSkip } from '../helpers/private-postgres.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'replica-secret';
const LINES = 40;
const skip =
  privatePostgresSkip ||
  (!existsSync(CHROMIUM) && process.env.CI !== 'true' ? `no Chromium at ${CHROMIUM}` : false);

describe('replicas: the build page on one shows a build the other runs, live', { skip }, () => {
  let postgres: PrivatePostgres;
  let browser: Browser;
  const shared = mkdtempSync(join(tmpdir(), 'ab-replicas-'));
  const a = new ServiceProcess('ab-replica-a-');
  const b = new ServiceProcess('ab-replica-b-');

  before(async () => {
    await requireDocker();
    postgres = await PrivatePostgres.create();
    await postgres.start();
    for (const replica of [a, b]) {
      replica.configure({
        webhook_secret: SECRET,
        database_url: postgres.url,
        // What every replica must see (docs/scale-out.md): logs, kernels, the repositories.
        logs_directory: join(shared, 'logs'),
        kernel_target: join(shared, 'kernels'),
        git: { url: `${join(shared, 'git')}/{repository}.git` },
        repositories: {
          'acme/os': {
            image: TEST_IMAGE,
            checkout: '/src',
            network: 'none',
            steps: [`for i in $(seq 1 ${LINES}); do echo "replica line $i"; sleep 0.25; done`],
          },
        },
      });
    }
    await a.start();
    await b.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await a.close(true);
    await b.close(true);
    await postgres?.destroy();
    rmSync(shared, { recursive: true, force: true });
  });

  it('a build one replica runs is watched on the other from running to its end, lines arriving while it runs', async () => {
    const repo = new LocalRepo(join(shared, 'git'), 'acme/os');
    const sha = repo.commit('master', { README: 'replicas\n' });
    const body = JSON.stringify(pushPayload({ repository: 'acme/os', branch: 'master', commit: sha }));
    const response = await fetch(`${b.url}/build/replicas/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET }),
    });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: number };
    // Who claimed it: its owner is that replica's instance id (data_directory/instance-id).
    const instanceOf = (replica: ServiceProcess) =>
      readFileSync(join(replica.home, 'data', 'instance-id'), 'utf8').trim();
    const owner = await waitFor(async () => {
      const build = (await (await fetch(`${b.url}/api/builds/${id}`)).json()) as { owner: string | null };
      return build.owner ?? undefined;
    }, 60_000);
    const runner = owner === instanceOf(a) ? a : b;
    const watcher = runner === a ? b : a;
    assert.equal(owner, instanceOf(runner), 'the owner is one of the two replicas');

    const page = await browser.newPage();
    await page.goto(`${watcher.url}/monitor/builds/${id}`);
    const heading = page.locator(`h1[data-build="${id}"]`);
    const lineCount = () => page.locator('#log .line').count();
    // Seen running on A with some, not all, of its lines: they come while B runs it.
    const midway = await waitFor(async () => {
      if ((await heading.getAttribute('data-state')) !== 'running') return undefined;
      const text = (await page.locator('#log').textContent()) ?? '';
      return text.includes('replica line 2\n') && !text.includes(`replica line ${LINES}\n`)
        ? await lineCount()
        : undefined;
    }, 60_000);
    await page.locator('#log[data-ended="true"]').waitFor({ timeout: 60_000 });
    assert.equal(await heading.getAttribute('data-state'), 'success');
    const text = (await page.locator('#log').textContent()) ?? '';
    const shown = text.split('\n').filter((line) => line.startsWith('replica line '));
    assert.deepEqual(
      shown,
      Array.from({ length: LINES }, (_, i) => `replica line ${i + 1}`),
      'every line once, in order',
    );
    assert.ok((await lineCount()) > midway, 'more lines came after the midway look');

    // The runner counts it; the watcher only showed it (metrics and commit statuses are the runner's).
    const counted = async (replica: ServiceProcess) =>
      /autobuilder_builds_total\{repository="acme\/os",state="success"\} 1\b/.test(
        await (await fetch(`${replica.url}/metrics`)).text(),
      );
    assert.equal(await counted(runner), true, 'the runner counts the build it ran');
    assert.equal(await counted(watcher), false, 'the watcher does not count a build it only relayed');
    await page.close();
  });
});
