/**
 * The write endpoints and read API through app.inject(): auth, trigger, cancel, rebuild, pause,
 * metrics. The CLI's trigger goes over loopback HTTP.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness, waitForFinal } from '../helpers/harness.js';
import { injectFetch } from '../helpers/inject.js';
import { fakeRule } from '../helpers/fake-rule.js';

const TOKEN = 'control-token';
const WEBHOOK_SECRET = 'control-webhook-secret';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('control API', () => {
  let h: Harness;
  let repo: LocalRepo;
  let sha: string;
  before(async () => {
    h = await startHarness({
      token: WEBHOOK_SECRET,
      apiTokens: [TOKEN],
      executor: new FakeExecutor(),
      repositories: {
        'acme/os': fakeRule(['sleep 30']),
        'acme/quick': fakeRule(['echo ok > /target/vmlinuz.efi'], { publish: 'q-{short}.efi' }),
      },
    });
    await h.listen();
    repo = new LocalRepo(h.gitRoot, 'acme/os');
    sha = repo.commit('master', { a: '1' });
  });
  after(async () => {
    await h.close();
    removeHome(h);
  });
  const api = (path: string, init: RequestInit = {}) => injectFetch(h.service.app)(path, init);
  const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

  it('refuses every write without an API token (the webhook secret is none), changing nothing', async () => {
    for (const path of [
      '/api/builds',
      '/api/builds/1/cancel',
      '/api/builds/1/rebuild',
      '/api/builds/1/approve',
      '/api/queue/pause',
      '/api/queue/resume',
    ]) {
      for (const headers of [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: TOKEN },
        { authorization: `Bearer ${WEBHOOK_SECRET}` },
      ] as Record<string, string>[]) {
        const response = await api(path, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{}',
        });
        assert.equal(response.status, 401, path);
        assert.equal((await json(response)).error, 'UNAUTHORIZED');
      }
    }
    assert.equal((await h.service.store.listActive()).length, 0);
    assert.equal(h.service.scheduler.isPaused, false);
  });

  it('triggers a build of a branch head, answers 400/404 on bad input', async () => {
    const response = await api('/api/builds', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ repository: 'acme/os', branch: 'master' }),
    });
    assert.equal(response.status, 202);
    const build = await json(response);
    assert.equal(build.commit, sha);
    assert.equal(build.project, 'manual');
    const bad: [unknown, number][] = [
      [{ repository: 'acme/os' }, 400],
      [{ repository: '../x', branch: 'master' }, 400],
      [{ repository: 'acme/os', branch: 'a..b' }, 400],
      [{ repository: 'acme/os', branch: 'master', commit: 'xyz' }, 400],
      [{ repository: 'acme/os', branch: 'master', extra: 1 }, 400],
      [{ repository: 'acme/none', branch: 'master' }, 404],
      [{ repository: 'acme/os', branch: 'no-such-branch' }, 404],
      [{ repository: 'acme/os', branch: 'master', tag: 'v1' }, 400],
      [{ repository: 'acme/os', tag: 'no-such-tag' }, 404],
    ];
    for (const [body, status] of bad) {
      const r = await api('/api/builds', { method: 'POST', headers: auth, body: JSON.stringify(body) });
      assert.equal(r.status, status, JSON.stringify(body));
      assert.ok(typeof (await json(r)).message === 'string');
    }
    const broken = await api('/api/builds', { method: 'POST', headers: auth, body: '{nope' });
    assert.equal(broken.status, 400);
  });

  it('triggers a tag at its head, as `autobuilder trigger --tag` and the monitor Run form do', async () => {
    const tagged = repo.commit('master', { b: '2' });
    execFileSync('git', ['-C', repo.work, 'tag', 'v9.9']);
    execFileSync('git', ['-C', repo.work, 'push', '--quiet', 'origin', 'v9.9']);
    const r = await api('/api/builds', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ repository: 'acme/os', tag: 'v9.9' }),
    });
    assert.equal(r.status, 202);
    const build = await json(r);
    assert.deepEqual([build.refType, build.branch, build.commit], ['tag', 'v9.9', tagged]);
    await api(`/api/builds/${String(build.id)}/cancel`, { method: 'POST', headers: auth });
  });

  it('cancels a running build, rebuilds it, and says why in GET /api/builds/:id', async () => {
    const [running] = await waitFor(async () => {
      const active = await h.service.store.listActive();
      return active.some((b) => b.state === 'running')
        ? active.filter((b) => b.state === 'running')
        : undefined;
    });
    const cancel = await api(`/api/builds/${running!.id}/cancel`, { method: 'POST', headers: auth });
    assert.equal(cancel.status, 200);
    const cancelled = await json(cancel);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.reason, 'cancelled by request');
    assert.equal(
      (await api(`/api/builds/${running!.id}/cancel`, { method: 'POST', headers: auth })).status,
      409,
    );
    const read = await json(await api(`/api/builds/${running!.id}`));
    assert.equal(read.reason, 'cancelled by request');
    const rebuild = await api(`/api/builds/${running!.id}/rebuild`, { method: 'POST', headers: auth });
    assert.equal(rebuild.status, 202);
    const again = await json(rebuild);
    assert.equal(again.commit, running!.commit);
    assert.equal(again.retryOf, running!.id);
    await h.service.scheduler.cancel(again.id as number);
  });

  it('pauses and resumes the queue', async () => {
    assert.deepEqual(await json(await api('/api/queue/pause', { method: 'POST', headers: auth })), {
      paused: true,
    });
    const quick = new LocalRepo(h.gitRoot, 'acme/quick');
    const r = await api('/api/builds', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        repository: 'acme/quick',
        branch: 'master',
        commit: quick.commit('master', { q: '1' }),
      }),
    });
    const id = (await json(r)).id as number;
    const status = await json(await api('/build/status'));
    assert.equal(status.paused, true);
    const queued = status.queued as { id: number; waiting: string }[];
    assert.equal(queued.find((b) => b.id === id)?.waiting, 'queue paused');
    assert.deepEqual(await json(await api('/api/queue/resume', { method: 'POST', headers: auth })), {
      paused: false,
    });
    const done = await waitForFinal(h, id);
    assert.equal(done.state, 'success');
    const history = await json(await api('/build/history?limit=1'));
    assert.equal((history.builds as { id: number }[])[0]!.id, id);
    assert.match(String(history.next), /cursor=/);
    const log = await api(`/api/builds/${id}/log`);
    assert.equal(log.headers.get('x-build-state'), 'success');
    assert.match(await log.text(), /==> success/);
    const kernel = await api(`/kernels/${done.artifact}`);
    assert.equal(await kernel.text(), 'ok\n');
  });

  it('answers bad ids and unknown builds with JSON errors', async () => {
    for (const [path, status] of [
      ['/api/builds/abc', 400],
      ['/api/builds/99999', 404],
      ['/api/builds/99999/log', 404],
      ['/build/history?limit=0', 400],
      ['/build/logs/acme/os/nope', 404],
      ['/build/logs/acme/os/nope?refType=tag', 404],
      ['/build/logs/acme/os/nope?refType=bogus', 400],
      ['/kernels/..%2Fetc', 400],
      ['/nowhere', 404],
    ] as const) {
      const response = await api(path);
      assert.equal(response.status, status, path);
      assert.ok((await json(response)).error);
    }
  });

  it('autobuilder trigger queues a build through the API, and fails clearly when it cannot', async () => {
    const quick = new LocalRepo(h.gitRoot, 'acme/quick');
    const sha = quick.commit('cli', { c: '1' });
    const cli = ['--import', 'tsx', 'src/cli.ts', '--config', join(h.home, 'autobuilder.yaml')];
    // Asynchronous on purpose: the service answering the CLI runs in this very process.
    const run = (args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [...cli, ...args], { encoding: 'utf8' }, (error, stdout, stderr) =>
          resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await run(['trigger', 'acme/quick', 'cli', '--commit', sha, '--url', h.url]);
    assert.equal(ok.status, 0, ok.stderr);
    const id = Number(/queued build #(\d+)/.exec(ok.stdout)?.[1]);
    assert.equal((await h.service.store.getBuild(id))?.commit, sha);
    const bad = await run(['trigger', 'acme/none', 'cli', '--url', h.url]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /404: repository acme\/none is not configured/);
    const down = await run(['trigger', 'acme/quick', 'cli', '--url', 'http://127.0.0.1:9']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot connect to .*: is the service running at http:\/\/127\.0\.0\.1:9\?/);
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await api('/metrics')).text();
    assert.match(text, /autobuilder_builds_total\{repository="acme\/os",state="cancelled"\} [1-9]/);
    assert.match(text, /autobuilder_builds_total\{repository="acme\/quick",state="success"\} [1-9]/);
    assert.match(text, /autobuilder_queue_depth\{state="queued"\} \d+/);
    assert.match(text, /autobuilder_build_duration_seconds_count/);
    // The webhook's latency is observed on its route only: the API calls above are not in it.
    assert.doesNotMatch(text, /autobuilder_webhook_duration_seconds_count\{status="202"\}/);
    const ping = await api('/build/p/hook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping' },
      body: '{}',
    });
    assert.equal(ping.status, 401); // signed hooks only: the webhook secret is set
    const after = await (await api('/metrics')).text();
    assert.match(after, /autobuilder_webhook_duration_seconds_count\{status="401"\} 1/);
  });
});
