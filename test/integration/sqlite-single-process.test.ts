/**
 * SQLite is a single-replica store: the real CLI started a second time on the same SQLite file
 * (another home, another port) refuses to start, names the file and points to PostgreSQL, and
 * exits non-zero. The lock dies with its process: after a kill -9 of the first, another starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ServiceProcess } from '../helpers/service-process.js';

const settings = {
  repositories: { 'acme/os': { image: 'busybox', checkout: '/src', network: 'none', steps: ['true'] } },
};

/** Runs `serve` with `service`'s config until it exits by itself (within `ms`), with its stderr. */
function runUntilExit(service: ServiceProcess, ms: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', '--config', join(service.home, 'autobuilder.yaml'), 'serve'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TOKEN: '' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms (it should have refused to start); stderr: ${stderr}`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('SQLite: one service process per database file', () => {
  const first = new ServiceProcess('ab-single-a-');
  const second = new ServiceProcess('ab-single-b-');
  const database = join(first.home, 'data', 'autobuilder.db');

  after(async () => {
    await first.close(true);
    await second.close(true);
  });

  it('refuses a second process on the same file, and is free again after a kill -9', async () => {
    first.configure(settings);
    second.configure({ ...settings, database_url: `sqlite:${database}` });
    await first.start();

    const refused = await runUntilExit(second, 30_000);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /in use by another autobuilder process/);
    assert.ok(refused.stderr.includes(database), `names the file: ${refused.stderr}`);
    assert.match(refused.stderr, /PostgreSQL/);
    // The refused one changed nothing: the first still answers.
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);

    await first.stop('SIGKILL');
    await second.start();
    assert.equal((await fetch(`${second.url}/healthz`)).status, 200);
  });
});
