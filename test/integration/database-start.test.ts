/**
 * A PostgreSQL server that is not up when the service starts (issue 12), through the real CLI as
 * a child process: each attempt is one clear line, the service starts once the database is up
 * within `database_wait`, and gives up with one line and exit 1 when it never comes. `gc` and
 * `config check` say the same in one line, not a stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { waitFor } from '../helpers/harness.js';
import { freePort, PrivatePostgres, privatePostgresSkip } from '../helpers/private-postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Child {
  output: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

function cli(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return {
    output: () => out + err,
    stderr: () => err,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

const attemptLines = (text: string, address: string) =>
  text.split('\n').filter((line) => line.includes(`cannot reach the database at ${address}: `));

describe('PostgreSQL down when the service starts', { skip: privatePostgresSkip }, () => {
  let pg: PrivatePostgres;
  let home: string;
  const children: Child[] = [];

  const configFile = (name: string, extra: Record<string, unknown>) => {
    const file = join(home, `${name}.yaml`);
    writeFileSync(
      file,
      stringify({
        host: '127.0.0.1',
        token: 'start-secret',
        data_directory: join(home, name),
        database_url: pg.url,
        ...extra,
      }),
    );
    return file;
  };

  before(async () => {
    pg = await PrivatePostgres.create(); // made, not started
    home = mkdtempSync(join(tmpdir(), 'ab-dbstart-'));
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await pg?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  it('retries with one line per attempt and starts when the database comes up within database_wait', async () => {
    const port = await freePort();
    const child = cli(['--config', configFile('late', { http_port: port, database_wait: '60s' }), 'serve']);
    children.push(child);
    const address = `127.0.0.1:${pg.port}`;
    await waitFor(() => attemptLines(child.output(), address).length >= 2, 30_000);
    await pg.start();
    await waitFor(() => child.output().includes('autobuilder listening'), 30_000);
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { database: string };
    assert.equal(health.database, 'ok');
    for (const line of attemptLines(child.output(), address))
      assert.match(line, /connect ECONNREFUSED/, 'each attempt says why');
    child.kill('SIGTERM');
    assert.equal(await child.exited, 0);
    await pg.stop();
  });

  it('gives up after database_wait with one line and exit 1, no stack trace', async () => {
    const child = cli([
      '--config',
      configFile('never', { http_port: await freePort(), database_wait: '3s' }),
      'serve',
    ]);
    children.push(child);
    assert.equal(await child.exited, 1);
    const address = `127.0.0.1:${pg.port}`;
    assert.ok(attemptLines(child.output(), address).length >= 2, child.output());
    const stderr = child.stderr().trim().split('\n');
    assert.equal(stderr.length, 1, child.stderr());
    assert.match(
      stderr[0]!,
      new RegExp(`^autobuilder: cannot reach the database at ${address}: .*database_wait`),
    );
  });

  it('gc and config check say it in one line', async () => {
    const file = configFile('tools', { database_wait: '60s' });
    for (const args of [['gc'], ['config', 'check']]) {
      const child = cli(['--config', file, ...args]);
      children.push(child);
      assert.equal(await child.exited, 1, args.join(' '));
      assert.match(
        child.stderr(),
        new RegExp(`^autobuilder: cannot reach the database at 127\\.0\\.0\\.1:${pg.port}: [^\\n]+\\n$`),
        args.join(' '),
      );
    }
  });
});
