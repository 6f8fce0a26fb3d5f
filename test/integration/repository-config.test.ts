/**
 * Issue 15 on a real Docker engine, through signed webhooks over loopback HTTP: `.autobuilder.yaml`
 * in the pushed commit changes the next build without a restart (and a broken one fails that build
 * listing every problem), branch filters ignore a push with the reason, deliveries (an unconfigured
 * repository's too) are visible in /api/deliveries and on the monitor, owner/name match ignoring
 * case, and a reload with a broken file keeps the running rules and says why.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { isFinal, type Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'repo-config-secret';

interface DeliveryView {
  deliveryId: string;
  event: string;
  repository: string | null;
  ref: string | null;
  outcome: string;
  summary: string;
  buildId: number | null;
}

describe('repository file, filters, deliveries and reload (real engine)', () => {
  let h: Harness;
  let app: LocalRepo;
  let locked: LocalRepo;
  let delivery = 0;

  before(async () => {
    const docker = await requireDocker();
    h = await startHarness({
      token: SECRET,
      executor: new DockerExecutor(docker),
      repositories: {
        'acme/app': {
          image: TEST_IMAGE,
          checkout: '/src',
          steps: ['echo "server-step on $AUTOBUILD_BRANCH"'],
          network: 'none',
          env: { GREETING: 'from-server' },
          timeout: '10m',
          branches: ['master', 'release/*', '!release/old*'],
        },
        'acme/locked': {
          image: TEST_IMAGE,
          checkout: '/src',
          steps: ['echo locked-server-step'],
          network: 'none',
          repository_config: false,
        },
      },
    });
    await h.listen();
    app = new LocalRepo(h.gitRoot, 'acme/app');
    locked = new LocalRepo(h.gitRoot, 'acme/locked');
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
  });

  async function send(repository: string, branch: string, commit: string, id = `rc-${++delivery}`) {
    const body = JSON.stringify(pushPayload({ repository, branch, commit }));
    const response = await fetch(`${h.url}/build/rc/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, delivery: id }),
    });
    return { response, body: (await response.json()) as Record<string, unknown>, id };
  }

  async function build(repository: string, branch: string, commit: string): Promise<Build> {
    const { response, body } = await send(repository, branch, commit);
    assert.equal(response.status, 202, JSON.stringify(body));
    assert.equal(typeof body.id, 'number', JSON.stringify(body));
    return waitFor(async () => {
      const found = await h.service.store.getBuild(body.id as number);
      return found && isFinal(found.state) ? found : undefined;
    }, 120_000);
  }

  const log = (b: Build) => readFileSync(b.logPath!, 'utf8');

  async function deliveries(): Promise<DeliveryView[]> {
    const response = await fetch(`${h.url}/api/deliveries?limit=20`);
    assert.equal(response.status, 200);
    return ((await response.json()) as { deliveries: DeliveryView[] }).deliveries;
  }

  it('a repository file changes the steps of the next build, without a restart', async () => {
    const first = await build('acme/app', 'master', app.commit('master', { README: 'v1\n' }));
    assert.equal(first.state, 'success', `${first.reason}\n${log(first)}`);
    assert.match(log(first), /^server-step on master$/m);

    const sha = app.commit('master', {
      '.autobuilder.yaml': stringify({
        steps: ['echo "file-step $GREETING $EXTRA"', 'cat /work/README'],
        env: { EXTRA: 'extra-from-file' },
        checkout: '/work',
      }),
    });
    const second = await build('acme/app', 'master', sha);
    assert.equal(second.state, 'success', `${second.reason}\n${log(second)}`);
    assert.match(log(second), /^file-step from-server extra-from-file$/m);
    assert.match(log(second), /^v1$/m, 'the checkout moved to /work');
    assert.doesNotMatch(log(second), /server-step/);
    assert.match(log(second), /\.autobuilder\.yaml at [0-9a-f]{12} sets: steps, env, checkout/);
    assert.deepEqual(
      second.steps.map((s) => s.command),
      ['echo "file-step $GREETING $EXTRA"', 'cat /work/README'],
    );
  });

  it('a broken repository file fails that build with every problem listed', async () => {
    const sha = app.commit('master', {
      '.autobuilder.yaml': stringify({
        steps: [],
        network: 'bridge',
        memory: '64g',
        timeout: '5h',
        base: 'acme/nowhere',
        colour: 'blue',
      }),
    });
    const failed = await build('acme/app', 'master', sha);
    assert.equal(failed.state, 'failed');
    for (const expected of [
      /steps: /,
      /network: set by the server's rule only/,
      /memory: set by the server's rule only/,
      /timeout: at most the server's 10m/,
      /base: base "acme\/nowhere" is not configured on the server/,
      /colour: unknown key/,
    ]) {
      assert.match(failed.reason!, expected);
      assert.match(log(failed), expected);
    }
    assert.deepEqual(failed.steps, [], 'no step ran');
  });

  it('repository_config: false leaves the repository file unread', async () => {
    const sha = locked.commit('master', { '.autobuilder.yaml': stringify({ steps: ['echo pushed-step'] }) });
    const done = await build('acme/locked', 'master', sha);
    assert.equal(done.state, 'success', `${done.reason}\n${log(done)}`);
    assert.match(log(done), /^locked-server-step$/m);
    assert.doesNotMatch(log(done), /pushed-step/);
  });

  it('branch filters ignore a push, with the reason, and list it as ignored', async () => {
    const sha = app.commit('feature/x', { README: 'feature\n' });
    const ignored = await send('acme/app', 'feature/x', sha);
    assert.equal(ignored.response.status, 202);
    assert.equal(
      ignored.body.ignored,
      'branch feature/x does not match branches of repositories.acme/app (master, release/*, !release/old*)',
    );
    const excluded = await send('acme/app', 'release/old-1', sha);
    assert.match(String(excluded.body.ignored), /branch release\/old-1 does not match branches/);
    assert.equal(await h.service.store.latestForRef('acme/app', 'branch', 'feature/x'), null);

    const listed = (await deliveries()).find((d) => d.deliveryId === ignored.id);
    assert.equal(listed?.outcome, 'ignored');
    assert.equal(listed?.ref, 'refs/heads/feature/x');
    assert.equal(listed?.repository, 'acme/app');

    // A branch the filter names builds.
    const release = await build('acme/app', 'release/2.0', app.commit('release/2.0', { README: 'r\n' }));
    assert.notEqual(release.state, 'queued');
  });

  it('a delivery for an unconfigured repository is named in the answer, the API and the monitor', async () => {
    const unknown = await send('nobody/else', 'master', 'a'.repeat(40));
    assert.equal(unknown.response.status, 202);
    assert.deepEqual(unknown.body, { ignored: 'repository nobody/else is not configured' });
    const [newest] = await deliveries();
    assert.equal(newest?.deliveryId, unknown.id, 'newest first');
    assert.equal(newest?.summary, 'ignored: repository nobody/else is not configured');
    assert.equal(newest?.repository, 'nobody/else');

    const page = await (await fetch(`${h.url}/monitor`)).text();
    const section = page.slice(page.indexOf('<section id="service">'));
    assert.match(section, new RegExp(`data-delivery="${unknown.id}"`));
    assert.match(section, /nobody\/else/);
    assert.match(section, /ignored: repository nobody\/else is not configured/);
    assert.match(section, /build #\d+/, 'a delivery that made a build links it');
  });

  it('a signed push that cannot be read is answered 400 and listed as refused, with the reason', async () => {
    const body = '{"ref": "refs/heads/master", "repository": {"full_name": "acme/app"}';
    const response = await fetch(`${h.url}/build/rc/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, delivery: 'rc-malformed' }),
    });
    assert.equal(response.status, 400);
    const half = JSON.stringify({ ref: 'refs/heads/master', repository: { full_name: 'acme/app' } });
    await fetch(`${h.url}/build/rc/hook`, {
      method: 'POST',
      body: half,
      headers: webhookHeaders(half, { secret: SECRET, delivery: 'rc-no-after' }),
    });
    const listed = await deliveries();
    const malformed = listed.find((d) => d.deliveryId === 'rc-malformed');
    assert.match(malformed?.summary ?? '', /^refused: malformed JSON/);
    const noAfter = listed.find((d) => d.deliveryId === 'rc-no-after');
    assert.equal(noAfter?.outcome, 'refused');
    assert.match(noAfter?.summary ?? '', /after: /);
    assert.equal(noAfter?.repository, 'acme/app');
    assert.equal(noAfter?.ref, 'refs/heads/master');
  });

  it('matches owner/name ignoring case, as GitHub does', async () => {
    const sha = app.commit('master', { README: 'case\n' });
    const built = await build('ACME/App', 'master', sha);
    assert.equal(built.repository, 'acme/app');
    assert.equal(built.commit, sha);
  });

  it('a reload with a broken file keeps the running rules and says why; a valid one applies', async () => {
    const before = (await (await fetch(`${h.url}/api/config`)).json()) as { revision: string };
    const good = readFileSync(h.file, 'utf8');
    const broken = parse(good) as { repositories: Record<string, Record<string, unknown>> };
    broken.repositories['acme/app']!.steps = 'not a list';
    broken.repositories['acme/new'] = {
      image: TEST_IMAGE,
      checkout: '/src',
      steps: ['true'],
      nework: 'none',
    };
    writeFileSync(h.file, stringify(broken));
    const refused = await fetch(`${h.url}/api/config/reload`, { method: 'POST' });
    assert.equal(refused.status, 422);
    const answer = (await refused.json()) as { error: string; message: string; details: { path: string }[] };
    assert.equal(answer.error, 'CONFIG_REFUSED');
    assert.match(answer.message, new RegExp(`still running revision ${before.revision}`));
    const paths = answer.details.map((d) => d.path);
    assert.ok(paths.includes('repositories.acme/app.steps'), paths.join(' '));
    assert.ok(
      paths.some((p) => p.startsWith('repositories.acme/new')),
      paths.join(' '),
    );
    // Still the old rules: acme/new unknown, acme/app builds as before.
    assert.deepEqual((await send('acme/new', 'master', 'b'.repeat(40))).body, {
      ignored: 'repository acme/new is not configured',
    });
    const still = (await (await fetch(`${h.url}/api/config`)).json()) as { revision: string };
    assert.equal(still.revision, before.revision);

    const fixed = parse(good) as { repositories: Record<string, Record<string, unknown>> };
    fixed.repositories['acme/new'] = {
      image: TEST_IMAGE,
      checkout: '/src',
      steps: ['echo new-repo'],
      network: 'none',
    };
    writeFileSync(h.file, stringify(fixed));
    const applied = await fetch(`${h.url}/api/config/reload`, { method: 'POST' });
    assert.equal(applied.status, 200);
    const result = (await applied.json()) as { revision: string; previous: string; restartNeeded: string[] };
    assert.equal(result.previous, before.revision);
    assert.notEqual(result.revision, before.revision);
    assert.deepEqual(result.restartNeeded, []);
    const monitor = await (await fetch(`${h.url}/monitor`)).text();
    assert.match(monitor, new RegExp(`Config revision <code>${result.revision}</code>`));

    const repo = new LocalRepo(h.gitRoot, 'acme/new');
    const built = await build('acme/new', 'master', repo.commit('master', { x: '1' }));
    assert.equal(built.state, 'success', `${built.reason}\n${log(built)}`);
    assert.match(log(built), /^new-repo$/m);
  });
});
