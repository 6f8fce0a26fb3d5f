/** Publishing into KERNEL_TARGET: fixed mode, atomic rename, and the build's abort honoured. */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { publishArtifact, removeStaleTemporaries } from '../../src/artifacts/publish-artifact.js';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ab-publish-'));
  const source = join(dir, 'staged');
  writeFileSync(source, 'kernel\n');
  chmodSync(source, 0o4777);
  return { source, target: join(dir, 'kernels') };
}

it('publishes as 0644 whatever the staged mode, and swaps the link', async () => {
  const { source, target } = setup();
  await publishArtifact(source, target, 'k-1.efi', { link: 'k.efi' });
  assert.equal(statSync(join(target, 'k-1.efi')).mode & 0o7777, 0o644);
  assert.equal(readlinkSync(join(target, 'k.efi')), 'k-1.efi');
  assert.deepEqual(readdirSync(target).sort(), ['k-1.efi', 'k.efi']);
});

it('an aborted publish renames nothing, moves no link and leaves no temporary file', async () => {
  const { source, target } = setup();
  await publishArtifact(source, target, 'k-1.efi', { link: 'k.efi' });
  const controller = new AbortController();
  controller.abort(new Error('timeout after 1s'));
  await assert.rejects(
    publishArtifact(source, target, 'k-2.efi', { link: 'k.efi', signal: controller.signal }),
  );
  assert.deepEqual(readdirSync(target).sort(), ['k-1.efi', 'k.efi']);
  assert.equal(readlinkSync(join(target, 'k.efi')), 'k-1.efi');
});

it('removes only temporary files of its own pattern', async () => {
  const { target } = setup();
  await publishArtifact(setup().source, target, 'k-1.efi');
  for (const name of ['.k-2.efi.0123456789ab.tmp', '.k.efi.ffffffffffff.tmp', 'a.tmp', '.k.efi.0123.tmp'])
    writeFileSync(join(target, name), 'x');
  assert.deepEqual((await removeStaleTemporaries(target)).sort(), [
    '.k-2.efi.0123456789ab.tmp',
    '.k.efi.ffffffffffff.tmp',
  ]);
  assert.deepEqual(readdirSync(target).sort(), ['.k.efi.0123.tmp', 'a.tmp', 'k-1.efi']);
  assert.equal(readFileSync(join(target, 'k-1.efi'), 'utf8'), 'kernel\n');
});
