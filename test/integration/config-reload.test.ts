/**
 * The real `autobuilder serve` process: SIGHUP with a broken config file keeps the running rules
 * and logs every problem; with a valid one the new revision runs. `autobuilder config reload`
 * does the same over HTTP, and `config check --repository-file` validates a pipeline file locally.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { waitFor } from '../helpers/harness.js';

const CLI = ['--import', 'tsx', 'src/cli.ts'];
const ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

function configFile(home: string, repositories: Record<string, unknown>): string {
  return stringify({
    http_port: 0,
    host: '127.0.0.1',
    data_directory: join(home, 'data'),
    grace_period: '1s',
    repositories,
  });
}

// Not fakeRule(): the real engine's image, and `steps` may be anything (the reload must refuse bad ones).
const rule = (steps: unknown) => ({ image: TEST_IMAGE, checkout: '/src', steps, network: 'none' });

describe('config reload of a running `autobuilder serve`', () => {
  let home: string;
  let file: string;
  let child: ChildProcess;
  let url = '';
  const lines: Record<string, unknown>[] = [];

  before(async () => {
    await requireDocker();
    home = mkdtempSync(join(tmpdir(), 'ab-reload-'));
    file = join(home, 'autobuilder.yaml');
    writeFileSync(file, configFile(home, { 'acme/one': rule(['true']) }));
    child = spawn(process.execPath, [...CLI, '-c', file, 'serve'], {
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const complete = buffered.split('\n');
      buffered = complete.pop()!;
      for (const line of complete)
        if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    url = await waitFor(
      () => lines.find((l) => String(l.msg).startsWith('autobuilder listening'))?.address as string,
      60_000,
    );
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  });

  const current = async () =>
    (await (await fetch(`${url}/api/config`)).json()) as { revision: string; repositories: string[] };

  it('SIGHUP with a broken file keeps the running rules and logs every problem', async () => {
    const before = await current();
    writeFileSync(
      file,
      configFile(home, { 'acme/one': rule('not-a-list'), 'acme/two': { ...rule(['true']), colour: 1 } }),
    );
    child.kill('SIGHUP');
    const refused = await waitFor(() =>
      lines.find((l) => String(l.msg).startsWith('config reload (SIGHUP) refused')),
    );
    assert.match(String(refused.msg), new RegExp(`still running revision ${before.revision}`));
    assert.match(String(refused.msg), /repositories\.acme\/one\.steps: /);
    assert.match(String(refused.msg), /repositories\.acme\/two/);
    assert.deepEqual(await current(), before);
    assert.equal(child.exitCode, null, 'still serving');
  });

  it('SIGHUP with a valid file runs the new revision', async () => {
    const before = await current();
    writeFileSync(file, configFile(home, { 'acme/one': rule(['true']), 'acme/two': rule(['true']) }));
    child.kill('SIGHUP');
    const after = await waitFor(async () => {
      const now = await current();
      return now.revision !== before.revision ? now : undefined;
    });
    assert.deepEqual(after.repositories, ['acme/one', 'acme/two']);
    // The log line reaches our pipe on its own schedule: waited for, not assumed.
    await waitFor(() => lines.some((l) => l.msg === `config reloaded (SIGHUP): revision ${after.revision}`));
  });

  it('`autobuilder config reload` answers every problem, or the new revision', () => {
    writeFileSync(file, configFile(home, { 'acme/one': { ...rule(['true']), branches: 'master' } }));
    // The command reads its own config only for the service's URL and API token.
    writeFileSync(join(home, 'cli.yaml'), configFile(home, {}));
    const answer = spawnSync(
      process.execPath,
      [...CLI, '-c', join(home, 'cli.yaml'), 'config', 'reload', '--url', url],
      {
        env: ENV,
        encoding: 'utf8',
      },
    );
    assert.equal(answer.status, 1, answer.stdout);
    assert.match(answer.stderr, /422: .*still running revision/);
    assert.match(answer.stderr, /- repositories\.acme\/one\.branches: /);
    writeFileSync(file, configFile(home, { 'acme/one': { ...rule(['true']), branches: ['master'] } }));
    const applied = spawnSync(
      process.execPath,
      [...CLI, '-c', join(home, 'cli.yaml'), 'config', 'reload', '--url', url],
      {
        env: ENV,
        encoding: 'utf8',
      },
    );
    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /^reloaded: revision [0-9a-f]{12}$/m);
  });

  it('`config check --repository-file` lists every problem of a pipeline file, or the effective rule', () => {
    const pipeline = join(home, 'pipeline.yaml');
    writeFileSync(pipeline, stringify({ steps: [], network: 'host', tags: ['v*'] }));
    const bad = spawnSync(
      process.execPath,
      [...CLI, 'config', 'check', file, '--repository-file', pipeline],
      {
        env: ENV,
        encoding: 'utf8',
      },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /- steps: /);
    assert.match(bad.stderr, /- network: set by the server's rule only/);
    writeFileSync(pipeline, stringify({ steps: ['make kernel'], tags: ['v*'] }));
    const good = spawnSync(
      process.execPath,
      [...CLI, 'config', 'check', file, '--repository-file', pipeline],
      {
        env: ENV,
        encoding: 'utf8',
      },
    );
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /steps:\n {2}- make kernel/);
    assert.match(good.stdout, /sets:\n {2}- steps\n {2}- tags/);
  });
});
