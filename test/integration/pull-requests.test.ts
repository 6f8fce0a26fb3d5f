/**
 * Pull requests through signed `pull_request` webhooks on the real engine: the head commit of
 * `refs/pull/N/head` is built (not the branch tip), published as `…-pr-N-{short}…` without moving
 * the link or committing an image; a fork's PR waits for approval, is approved through the API,
 * and builds without the secret; closing a PR cancels its queued builds; GitHub's example
 * payloads are accepted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { isFinal, type Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo, pullRequestHead } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import {
  pullRequestPayload,
  pushPayload,
  webhookHeaders,
  type PullRequestOptions,
} from '../helpers/webhook.js';

const SECRET = 'pulls-webhook-secret';
const API_KEY = 'pull-s3cret-value';
const IMAGE_REPO = `autobuilder-test-pulls/p${process.pid}`;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('pull requests (real engine)', () => {
  let h: Harness;
  let repo: LocalRepo;
  let executor: DockerExecutor;
  let docker: Awaited<ReturnType<typeof requireDocker>>;
  let delivery = 0;

  before(async () => {
    docker = await requireDocker();
    executor = new DockerExecutor(docker);
    const rule = {
      image: TEST_IMAGE,
      checkout: '/src',
      network: 'none',
      steps: ['echo "which=$(cat which)"; echo "secret=[$API_KEY]"; cp which /target/vmlinuz.efi'],
      publish: 'kernel-{branch}-{short}.efi',
      link: 'kernel-{branch}.efi',
      commit: `${IMAGE_REPO}:{branch}`,
      secrets: { API_KEY },
      branches: ['master'],
      trusted_authors: ['Trusted-Dev'],
    };
    h = await startHarness({
      token: SECRET,
      executor,
      repositories: {
        'acme/pr': rule,
        'Codertocat/Hello-World': { ...rule, secrets: {} },
        // Incremental: its builds start from acme/pr's committed image of the branch.
        'acme/inc': {
          base: 'acme/pr',
          checkout: '/inc',
          network: 'none',
          steps: ['echo "which=$(cat which)"; echo "secret=[$API_KEY]"'],
          branches: ['master'],
        },
      },
    });
    await h.listen();
    repo = new LocalRepo(h.gitRoot, 'acme/pr');
    repo.commit('master', { which: 'master' });
  });

  after(async () => {
    await h?.close();
    for (const tag of await executor.listTags(IMAGE_REPO).catch(() => []))
      await executor.removeImage(`${IMAGE_REPO}:${tag}`).catch(() => undefined);
    if (h) removeHome(h);
  });

  // Not postPush(): any event (pull_request mostly), and the answer is checked by each case.
  async function send(body: string, event = 'pull_request'): Promise<Response> {
    return fetch(`${h.url}/build/p/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, event, delivery: `pr-${process.pid}-${++delivery}` }),
    });
  }

  async function open(options: Omit<PullRequestOptions, 'repository'>): Promise<Build> {
    const response = await send(JSON.stringify(pullRequestPayload({ repository: 'acme/pr', ...options })));
    const body = (await response.json()) as Build & { ignored?: string };
    assert.equal(response.status, 202, JSON.stringify(body));
    assert.ok(body.id, JSON.stringify(body));
    return body;
  }

  const final = (id: number) =>
    waitFor(async () => {
      const build = await h.service.store.getBuild(id);
      return build && isFinal(build.state) ? build : undefined;
    }, 120_000);

  const post = (path: string) => fetch(`${h.url}${path}`, { method: 'POST' });

  it('accepts GitHub example payloads: opened (same repository, fork) and closed', async () => {
    h.service.scheduler.pause();
    try {
      const opened = await send(fixture('pull-request-opened.json'));
      assert.equal(opened.status, 202);
      const build = (await opened.json()) as Build;
      assert.equal(build.refType, 'pull');
      assert.equal(build.branch, 'pr-2');
      assert.equal(build.commit, 'ec26c3e57ca3a959ca5aad62de7213c562f8c821');
      assert.equal(build.repository, 'Codertocat/Hello-World');
      assert.deepEqual(build.pull, {
        number: 2,
        title: 'Update the README with new information.',
        baseBranch: 'master',
        headRepository: 'Codertocat/Hello-World',
        fork: false,
        author: 'Codertocat',
        approval: 'none',
      });
      const fork = (await (await send(fixture('pull-request-fork-opened.json'))).json()) as Build;
      assert.equal(fork.pull?.fork, true);
      assert.equal(fork.pull?.approval, 'awaiting');
      assert.equal(fork.pull?.headRepository, 'octo-contributor/Hello-World');

      const closed = await send(fixture('pull-request-closed.json'));
      assert.equal(closed.status, 202);
      assert.deepEqual(await closed.json(), { closed: 2, cancelled: [build.id] });
      const cancelled = await h.service.store.getBuild(build.id);
      assert.equal(cancelled?.state, 'cancelled');
      assert.equal(cancelled?.reason, 'pull request closed');
      assert.equal((await h.service.store.getBuild(fork.id))?.state, 'queued', 'another PR stays');
      assert.equal((await post(`/api/builds/${fork.id}/cancel`)).status, 200);
      const listed = (await (await fetch(`${h.url}/api/deliveries`)).json()) as {
        deliveries: { event: string; ref: string; reason: string | null }[];
      };
      assert.ok(
        listed.deliveries.some(
          (d) => d.event === 'pull_request' && d.reason === 'pull request closed: cancelled #' + build.id,
        ),
        JSON.stringify(listed.deliveries.slice(0, 3)),
      );
    } finally {
      h.service.scheduler.resume();
    }
  });

  it('builds a same-repository PR at its head commit, publishes pr-N without the link or an image', async () => {
    const head = pullRequestHead(repo, 1, 'master', { which: 'pr-head' });
    // The head branch moves on after the event: the build must still be the payload's commit.
    const tip = repo.commit('feature', { which: 'feature-tip' });
    assert.notEqual(head, tip);
    const queued = await open({ number: 1, headSha: head, headRef: 'feature', title: 'Make it <faster>' });
    const build = await final(queued.id);
    assert.equal(build.state, 'success', build.reason ?? '');
    assert.equal(build.commit, head);
    const log = readFileSync(build.logPath!, 'utf8');
    assert.match(log, /^which=pr-head$/m);
    assert.match(log, /^secret=\[\*\*\*\]$/m, 'a PR of the repository itself has the secret (masked)');
    const kernels = join(h.home, 'kernels');
    assert.equal(build.artifact, `kernel-pr-1-${head.slice(0, 8)}.efi`);
    assert.equal(readFileSync(join(kernels, build.artifact), 'utf8'), 'pr-head');
    assert.ok(!existsSync(join(kernels, 'kernel-pr-1.efi')), 'no link for a pull request');
    assert.deepEqual(
      readdirSync(kernels).filter((f) => f.startsWith('kernel-') && !f.startsWith('kernel-pr-1-')),
      [],
    );
    assert.equal(build.image, null);
    assert.deepEqual(await executor.listTags(IMAGE_REPO), [], 'no image committed');
  });

  it('keeps a fork PR waiting for approval, then builds it without the secret', async () => {
    const head = pullRequestHead(repo, 7, 'master', { which: 'from-a-fork' });
    const queued = await open({
      number: 7,
      headSha: head,
      headRepository: 'stranger/pr',
      author: 'stranger',
    });
    assert.equal(queued.pull?.approval, 'awaiting');
    h.service.scheduler.kick();
    await h.service.scheduler.idle();
    const waiting = (await (await fetch(`${h.url}/api/builds/${queued.id}`)).json()) as Build & {
      waiting: string;
    };
    assert.equal(waiting.state, 'queued', 'not started before approval');
    assert.equal(waiting.waiting, 'waiting for approval');

    const approved = await post(`/api/builds/${queued.id}/approve`);
    assert.equal(approved.status, 200);
    assert.equal(((await approved.json()) as Build).pull?.approval, 'approved');
    const build = await final(queued.id);
    assert.equal(build.state, 'success', build.reason ?? '');
    const log = readFileSync(build.logPath!, 'utf8');
    assert.match(log, /^which=from-a-fork$/m);
    assert.match(log, /^secret=\[\]$/m, 'a fork never gets the secret');

    const again = await post(`/api/builds/${queued.id}/approve`);
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: string }).error, 'CONFLICT');
    const unknown = await post('/api/builds/999999/approve');
    assert.equal(unknown.status, 404);
  });

  it("does not let a fork's repository file trust itself or take the secret", async () => {
    const head = pullRequestHead(repo, 8, 'master', {
      '.autobuilder.yaml': stringify({ trusted_authors: ['stranger'], env: { API_KEY: 'mine' } }),
    });
    const queued = await open({
      number: 8,
      headSha: head,
      headRepository: 'stranger/pr',
      author: 'stranger',
    });
    assert.equal(queued.pull?.approval, 'awaiting');
    assert.equal((await post(`/api/builds/${queued.id}/approve`)).status, 200);
    const build = await final(queued.id);
    assert.equal(build.state, 'failed');
    assert.match(build.reason!, /trusted_authors: set by the server's rule only/);
  });

  it('builds a trusted author’s fork PR without approval; ignores a PR into an unbuilt branch', async () => {
    h.service.scheduler.pause();
    try {
      const trusted = await open({
        number: 9,
        headSha: 'c'.repeat(40),
        headRepository: 'trusted-dev/pr',
        author: 'trusted-dev',
      });
      assert.equal(trusted.pull?.approval, 'none');
      // Someone else pushing to the trusted author's fork branch: their commit waits.
      const pushedByOther = await open({
        number: 9,
        action: 'synchronize',
        headSha: 'b'.repeat(40),
        headRepository: 'trusted-dev/pr',
        author: 'trusted-dev',
        sender: 'stranger',
      });
      assert.equal(pushedByOther.pull?.approval, 'awaiting');
      const response = await send(
        JSON.stringify(
          pullRequestPayload({
            repository: 'acme/pr',
            number: 10,
            headSha: 'd'.repeat(40),
            baseBranch: 'wip',
          }),
        ),
      );
      assert.match(
        ((await response.json()) as { ignored: string }).ignored,
        /branch wip does not match branches/,
      );
      assert.equal((await post(`/api/builds/${pushedByOther.id}/cancel`)).status, 200);
    } finally {
      h.service.scheduler.resume();
    }
  });

  it('cancels the queued and awaiting builds of a PR when it is closed', async () => {
    h.service.scheduler.pause();
    try {
      const first = await open({ number: 11, headSha: 'e'.repeat(40) });
      const fork = await open({ number: 12, headSha: 'f'.repeat(40), headRepository: 'x/pr', author: 'x' });
      const closed = await send(
        JSON.stringify(
          pullRequestPayload({
            repository: 'acme/pr',
            number: 11,
            headSha: 'e'.repeat(40),
            action: 'closed',
          }),
        ),
      );
      assert.deepEqual(await closed.json(), { closed: 11, cancelled: [first.id] });
      assert.equal((await h.service.store.getBuild(first.id))?.state, 'cancelled');
      assert.equal((await h.service.store.getBuild(fork.id))?.state, 'queued');
      await send(
        JSON.stringify(
          pullRequestPayload({
            repository: 'acme/pr',
            number: 12,
            headSha: 'f'.repeat(40),
            action: 'closed',
          }),
        ),
      );
      const awaiting = await h.service.store.getBuild(fork.id);
      assert.equal(awaiting?.state, 'cancelled');
      assert.equal(awaiting?.reason, 'pull request closed');
    } finally {
      h.service.scheduler.resume();
    }
  });

  it("does not hand a fork PR a secret through the base build's committed image", async () => {
    // master's build of acme/pr commits its container: acme/inc's builds start from that image.
    // (The helper's `checkout -B` starts from the last PR's commit: its repository file goes.)
    const master = repo.commit('master', { which: 'master-2', '.autobuilder.yaml': '' });
    const body = JSON.stringify(pushPayload({ repository: 'acme/pr', branch: 'master', commit: master }));
    const pushed = await send(body, 'push');
    assert.equal(pushed.status, 202, await pushed.clone().text());
    const branchBuild = await final(((await pushed.json()) as Build).id);
    assert.equal(branchBuild.state, 'success', branchBuild.reason ?? '');
    assert.equal(branchBuild.image, `${IMAGE_REPO}:master`);

    const inc = new LocalRepo(h.gitRoot, 'acme/inc');
    inc.commit('master', { which: 'inc-master' });
    const head = pullRequestHead(inc, 3, 'master', { which: 'fork-on-image' });
    const payload = pullRequestPayload({
      repository: 'acme/inc',
      number: 3,
      headSha: head,
      headRepository: 'stranger/inc',
      author: 'stranger',
    });
    const opened = await send(JSON.stringify(payload));
    assert.equal(opened.status, 202, await opened.clone().text());
    const queued = (await opened.json()) as Build;
    assert.equal((await post(`/api/builds/${queued.id}/approve`)).status, 200);
    const build = await final(queued.id);
    assert.equal(build.state, 'success', build.reason ?? '');
    const log = readFileSync(build.logPath!, 'utf8');
    assert.match(log, new RegExp(`image ${IMAGE_REPO}:master`), "the PR started from acme/pr's image");
    assert.match(log, /^which=fork-on-image$/m);
    assert.match(log, /^secret=\[\]$/m, 'a fork never gets a secret, not from an image either');
    const config = (await docker.getImage(branchBuild.image).inspect()).Config;
    assert.ok(
      !(config.Env ?? []).some((e) => e.includes(API_KEY)),
      'a committed image keeps no secret in its configuration',
    );
  });
});
