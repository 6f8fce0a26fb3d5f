/**
 * The service's own log as a person reads it: the real CLI (`autobuilder serve`) with the real
 * Docker engine, one push to success, stdout captured. The pretty form (forced with
 * LOG_FORMAT=pretty, as a terminal would get it) has a start banner naming the monitor URL and one
 * line per delivery, build start and build end; LOG_FORMAT=json keeps JSON lines with the fields.
 * docs/troubleshooting.md shows such a run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/harness.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
const REPOSITORY = 'acme/hello';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Run {
  output: () => string;
  url: string;
  stop: () => Promise<void>;
}

async function serve(format: 'pretty' | 'json', homes: string[]): Promise<Run & { repo: LocalRepo }> {
  const home = mkdtempSync(join(tmpdir(), 'ab-log-'));
  const gitRoot = mkdtempSync(join(tmpdir(), 'ab-log-git-'));
  homes.push(home, gitRoot);
  const port = await freePort();
  const file = join(home, 'autobuilder.yaml');
  writeFileSync(
    file,
    stringify({
      http_port: port,
      host: '127.0.0.1',
      kernel_target: join(home, 'kernels'),
      logs_directory: join(home, 'logs'),
      tmp_directory: join(home, 'tmp'),
      data_directory: join(home, 'data'),
      git: { url: `${gitRoot}/{repository}.git` },
      repositories: {
        [REPOSITORY]: {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          publish: 'hello-{branch}.efi',
          steps: ['echo building', 'echo kernel > /target/vmlinuz.efi'],
        },
      },
    }),
  );
  const repo = new LocalRepo(gitRoot, REPOSITORY);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, '--config', file, 'serve'], {
    env: { ...process.env, LOG_FORMAT: format, AUTOBUILDER_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => output.includes('autobuilder listening'), 30_000);
  return {
    repo,
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// Not pushAndWait(): the service is its own process here (no harness to inject into), read over HTTP.
async function pushOnce(run: Run & { repo: LocalRepo }): Promise<number> {
  const commit = run.repo.commit('master', { 'README.md': 'hello\n' }, 'first');
  const body = JSON.stringify(pushPayload({ repository: REPOSITORY, branch: 'master', commit }));
  const response = await fetch(`${run.url}/build/hello/hook`, {
    method: 'POST',
    headers: webhookHeaders(body, { delivery: 'f1e2d3c4-0000-4000-8000-000000000001' }),
    body,
  });
  assert.equal(response.status, 202);
  const { id } = (await response.json()) as { id: number };
  await waitFor(async () => {
    const build = (await (await fetch(`${run.url}/api/builds/${id}`)).json()) as { state: string };
    return build.state === 'success'
      ? true
      : build.state === 'running' || build.state === 'queued'
        ? false
        : build.state;
  }, 60_000).then((state) => assert.equal(state, true, `build ended ${String(state)}`));
  return id;
}

describe('the service log, as a person reads it', () => {
  const homes: string[] = [];
  const runs: Run[] = [];

  after(async () => {
    for (const run of runs) await run.stop();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('prints one readable line per delivery, build start and end, after a banner with the monitor URL', async () => {
    await requireDocker();
    const run = await serve('pretty', homes);
    runs.push(run);
    const id = await pushOnce(run);
    await waitFor(() => run.output().includes(`build #${id} success`), 10_000);
    await run.stop();
    const lines = run.output().trimEnd().split('\n');
    process.stdout.write(`# the service's stdout:\n${lines.map((l) => `#   ${l}`).join('\n')}\n`);
    const time = String.raw`\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})?\]`;
    const find = (pattern: RegExp) => {
      const line = lines.find((l) => pattern.test(l));
      assert.ok(line, `a line matching ${pattern}:\n${lines.join('\n')}`);
      return line;
    };
    find(
      new RegExp(
        `^${time} INFO: autobuilder listening on http://127\\.0\\.0\\.1:\\d+; monitor: http://localhost:\\d+/monitor \\(version \\S+, 1 repositories`,
      ),
    );
    find(
      new RegExp(
        `^${time} INFO: delivery f1e2d3c4-0000-4000-8000-000000000001 push ${REPOSITORY} branch master: queued build #${id}$`,
      ),
    );
    find(
      new RegExp(`^${time} INFO: build #${id} started on local: ${REPOSITORY} branch master at [0-9a-f]{8}$`),
    );
    find(
      new RegExp(`^${time} INFO: build #${id} success in \\d+\\.\\ds on local: ${REPOSITORY} branch master$`),
    );
    assert.ok(
      lines.every((line) => !line.startsWith('{')),
      'no JSON line on the readable log',
    );
  });

  it('writes JSON lines with the same facts as fields under LOG_FORMAT=json', async () => {
    const run = await serve('json', homes);
    runs.push(run);
    const id = await pushOnce(run);
    await waitFor(() => run.output().includes(`"build #${id} success`), 10_000);
    await run.stop();
    const records = run
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const end = records.find((r) => r.build === id && r.state === 'success');
    assert.equal(end?.repository, REPOSITORY);
    assert.equal(end?.ref, 'branch master');
    assert.equal(typeof end?.durationMs, 'number');
    assert.ok(records.some((r) => r.outcome === 'queued' && r.build === id));
    assert.ok(records.some((r) => typeof r.monitor === 'string' && String(r.monitor).endsWith('/monitor')));
  });
});
