/**
 * The first minutes with the CLI: `autobuilder --version` answers, and `trigger` without a running
 * service says so and asks whether it runs at that address, instead of a bare "fetch failed".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'src/cli.ts');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
// No ./autobuilder.yaml there: the built-in defaults load.
const cwd = mkdtempSync(join(tmpdir(), 'ab-cli-'));

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, AUTOBUILDER_CONFIG: '' },
    timeout: 30_000,
  });

describe('CLI on a first run', () => {
  after(() => rmSync(cwd, { recursive: true, force: true }));

  it('prints its version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = run('--version');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });

  it('asks whether the service is running when trigger cannot connect', async () => {
    // A port nothing listens on: taken, then released.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    const result = run('trigger', 'acme/os', 'master', '--url', url);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`is the service running at ${url.replace(/\./g, '\\.')}\\?`));
    assert.match(result.stderr, /ECONNREFUSED/);
  });
});
