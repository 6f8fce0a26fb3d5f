/** The service's instance id: what its containers are labelled with, so leftovers stay its own. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { INSTANCE_FILE, serviceInstance } from '../../src/config/service-instance.js';

const moduleUrl = new URL('../../src/config/service-instance.ts', import.meta.url).href;

/** Computes the id in a child process whose host name is `name` (its own UTS namespace, as a redeployed container has). */
function instanceOnHost(name: string, dataDirectory: string): string {
  const script =
    `import(${JSON.stringify(moduleUrl)}).then((m) => ` +
    `process.stdout.write(require('node:os').hostname() + ' ' + m.serviceInstance({ dataDirectory: ${JSON.stringify(dataDirectory)} })))`;
  const out = execFileSync(
    'unshare',
    [
      '--uts',
      'sh',
      '-c',
      'hostname "$0" && exec "$@"',
      name,
      process.execPath,
      '--import',
      'tsx',
      '-e',
      script,
    ],
    { encoding: 'utf8' },
  );
  const [host, id] = out.trim().split(' ');
  assert.equal(host, name, 'the child ran under the other host name');
  return id ?? '';
}

test('the instance id is kept in data_directory and survives a host name change', (t) => {
  const data = mkdtempSync(join(tmpdir(), 'ab-instance-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const id = serviceInstance({ dataDirectory: data });
  assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
  assert.equal(readFileSync(join(data, INSTANCE_FILE), 'utf8').trim(), id);
  assert.equal(instanceOnHost('redeployed-container-1', data), id);
  assert.equal(instanceOnHost('redeployed-container-2', data), id);
});

test('two data directories are two instances, even on one host', (t) => {
  const a = mkdtempSync(join(tmpdir(), 'ab-instance-'));
  const b = mkdtempSync(join(tmpdir(), 'ab-instance-'));
  t.after(() => [a, b].forEach((d) => rmSync(d, { recursive: true, force: true })));
  assert.notEqual(serviceInstance({ dataDirectory: a }), serviceInstance({ dataDirectory: b }));
});
