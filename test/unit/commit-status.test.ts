/** Commit statuses against a local HTTP server standing in for GitHub's API (GitHub is not reachable here). */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { CommitStatusReporter } from '../../src/forge/github/commit-status.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitForFinal } from '../helpers/harness.js';
import type { Build } from '../../src/domain/build.js';
import { makeBuild } from '../helpers/build-fixture.js';
import { fakeRule } from '../helpers/fake-rule.js';

interface Received {
  path: string;
  auth: string | undefined;
  body: { state: string; target_url: string; description: string; context: string };
}

/** Answers with the scripted statuses in order (then 201), recording every request. */
class FakeGitHub {
  readonly received: Received[] = [];
  script: { status: number; headers?: Record<string, string> }[] = [];
  server!: Server;
  url = '';
  async start() {
    this.server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        this.received.push({
          path: req.url ?? '',
          auth: req.headers.authorization,
          body: JSON.parse(data || '{}'),
        });
        const next = this.script.shift() ?? { status: 201 };
        res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
        res.end(JSON.stringify(next.status < 300 ? { id: 1 } : { message: 'scripted failure' }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

const build = (state: Build['state'], reason: string | null = null): Build =>
  makeBuild({ id: 7, repository: 'zero-os/core0', kind: 'incremental', state, reason, artifact: 'k.efi' });

describe('GitHub commit statuses', () => {
  const github = new FakeGitHub();
  before(() => github.start());
  after(() => github.server.close());
  const reporter = (failures: unknown[] = []) =>
    new CommitStatusReporter({
      token: 'gh-token',
      apiUrl: github.url,
      context: 'autobuilder/{name}',
      publicUrl: 'http://ci.example',
      logger: pino({ level: 'silent' }),
      onFailure: (e) => failures.push(e),
      backoffUnitMs: 10,
      writeSpacingMs: 0,
    });

  it('posts pending then the final state, with the monitor link and the reason', async () => {
    github.received.length = 0;
    const r = reporter();
    void r.report(build('queued'));
    void r.report(build('running'));
    void r.report(build('failed', 'step 1 (make) exited with code 2'));
    await r.drain();
    assert.deepEqual(
      github.received.map((x) => x.body.state),
      ['pending', 'pending', 'failure'],
    );
    const last = github.received.at(-1)!;
    assert.equal(last.path, `/repos/zero-os/core0/statuses/${'a'.repeat(40)}`);
    assert.equal(last.auth, 'token gh-token');
    assert.equal(last.body.target_url, 'http://ci.example/monitor/builds/7');
    assert.equal(last.body.description, 'failed: step 1 (make) exited with code 2');
    assert.equal(last.body.context, 'autobuilder/core0');
  });

  it("reports a pull request build on its head commit, under the context's /pr", async () => {
    github.received.length = 0;
    const r = reporter();
    const head = 'c'.repeat(40);
    const pull = {
      number: 12,
      title: 'Fix',
      baseBranch: 'master',
      headRepository: 'someone/core0',
      fork: true,
      author: 'someone',
      approval: 'approved' as const,
    };
    void r.report(makeBuild({ ...build('success'), refType: 'pull', branch: 'pr-12', commit: head, pull }));
    await r.drain();
    assert.equal(github.received[0]?.path, `/repos/zero-os/core0/statuses/${head}`);
    assert.equal(github.received[0]?.body.context, 'autobuilder/core0/pr');
    assert.equal(github.received[0]?.body.state, 'success');
  });

  it('retries 5xx answers and waits out a rate limit', async () => {
    github.received.length = 0;
    github.script = [{ status: 502 }, { status: 503 }, { status: 429, headers: { 'retry-after': '1' } }];
    const failures: unknown[] = [];
    const r = reporter(failures);
    await r.report(build('success'));
    assert.equal(github.received.length, 4);
    assert.equal(failures.length, 0);
    assert.equal(github.received.at(-1)!.body.state, 'success');
  });

  it('gives up after its retries without throwing, and counts the failure', async () => {
    github.received.length = 0;
    github.script = Array.from({ length: 10 }, () => ({ status: 500 }));
    const failures: unknown[] = [];
    await reporter(failures).report(build('cancelled', 'cancelled by request'));
    assert.equal(failures.length, 1);
    assert.ok(github.received.length >= 2);
    github.script = [];
  });

  it('a failing GitHub never fails the build', async () => {
    github.received.length = 0;
    // 422 is not retried, so this stays fast; retries of 5xx are proven above.
    github.script = Array.from({ length: 6 }, () => ({ status: 422 }));
    const h = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        'acme/os': fakeRule(['echo k > /target/vmlinuz.efi']),
      },
      extra: { github: { token: 't', api_url: github.url } },
    });
    try {
      const repo = new LocalRepo(h.gitRoot, 'acme/os');
      const { build: queued } = await h.service.scheduler.enqueue({
        project: 'p',
        repository: 'acme/os',
        refType: 'branch',
        branch: 'master',
        commit: repo.commit('master', { a: '1' }),
        kind: 'full',
        pusher: null,
        deliveryId: null,
        commits: [],
      });
      const done = await waitForFinal(h, queued.id);
      assert.equal(done.state, 'success');
      await h.service.statuses!.drain();
      assert.ok(github.received.length > 0);
    } finally {
      github.script = [];
      await h.close();
      removeHome(h);
    }
  });
});
