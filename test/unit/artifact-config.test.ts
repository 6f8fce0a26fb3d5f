/** `artifact_max_size`: a global default of 2g, a per-rule override, and clear errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { formatSize } from '../../src/domain/duration.js';
import { AppError } from '../../src/errors.js';
import { FileRefused } from '../../src/executor/executor.js';
import { refusalReason } from '../../src/pipeline/stage-artifact.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-artifact-config-'));
const rule = { image: 'busybox', checkout: '/src', steps: ['true'] };

function load(config: Record<string, unknown>) {
  const path = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, stringify(config));
  return loadConfig({ file: path, env: {}, cwd: dir });
}

it('defaults to 2 GiB, follows the global key, and a rule may override it', () => {
  assert.equal(load({ repositories: { 'a/b': rule } }).rules.get('a/b')!.artifactMaxBytes, 2 * 1024 ** 3);
  const config = load({
    artifact_max_size: '512m',
    repositories: { 'a/b': rule, 'a/c': { ...rule, artifact_max_size: '1k' } },
  });
  assert.equal(config.rules.get('a/b')!.artifactMaxBytes, 512 * 1024 ** 2);
  assert.equal(config.rules.get('a/c')!.artifactMaxBytes, 1024);
});

it('refuses a size it cannot read, naming the key', () => {
  assert.throws(
    () => load({ artifact_max_size: 'huge', repositories: { 'a/b': { ...rule, artifact_max_size: 0 } } }),
    (error: unknown) => {
      assert.ok(error instanceof AppError);
      const paths = (error.details as { path: string }[]).map((p) => p.path).sort();
      assert.deepEqual(paths, ['artifact_max_size', 'repositories.a/b.artifact_max_size']);
      return true;
    },
  );
});

it('says why an artifact was refused, in words a pusher understands', () => {
  const at = '/target/vmlinuz.efi';
  const table: [ConstructorParameters<typeof FileRefused>[0], string][] = [
    ['missing', 'artifact not found: /target/vmlinuz.efi'],
    ['symlink', 'artifact /target/vmlinuz.efi is a symbolic link, not a regular file'],
    ['fifo', 'artifact /target/vmlinuz.efi is a FIFO, not a regular file'],
    ['device', 'artifact /target/vmlinuz.efi is a device node, not a regular file'],
    ['directory', 'artifact /target/vmlinuz.efi is a directory, not a regular file'],
    ['not-regular', 'artifact /target/vmlinuz.efi is not a regular file'],
    ['empty', 'artifact /target/vmlinuz.efi is empty'],
    ['too-large', 'artifact /target/vmlinuz.efi is larger than artifact_max_size (2 GiB)'],
  ];
  for (const [kind, reason] of table)
    assert.equal(refusalReason(new FileRefused(kind, at), 2 * 1024 ** 3), reason);
  assert.deepEqual([1024, 3 * 1024 ** 2, 1000, 1536].map(formatSize), [
    '1 KiB',
    '3 MiB',
    '1000 bytes',
    '1536 bytes',
  ]);
});
