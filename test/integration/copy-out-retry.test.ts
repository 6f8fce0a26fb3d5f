/**
 * A file out of a container on the real engine, when the engine's archive stream ends before its
 * first entry (cut short on its way): asked for once more, since the copy only reads; cut short
 * twice, an engine error, never "artifact not found" (FileRefused `missing`), which would blame
 * the build for the engine's stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { FileRefused, type ContainerHandle } from '../../src/executor/executor.js';
import { ArchiveEnded } from '../../src/executor/read-file-entry.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';

describe('copy out of a container whose archive stream is cut short (Docker)', () => {
  let cuts = 0;
  let executor: DockerExecutor;
  let handle: ContainerHandle;
  const dir = mkdtempSync(join(tmpdir(), 'ab-copy-retry-'));

  before(async () => {
    await requireDocker();
    // The engine as the executor sees it: the next `cuts` archives of a container end at once
    // (as test/helpers/cutting-docker.ts cuts attach streams).
    class CuttingArchives extends Docker {
      override getContainer(id: string): Docker.Container {
        const container = super.getContainer(id);
        const getArchive = container.getArchive.bind(container);
        container.getArchive = (async (options: Parameters<typeof getArchive>[0]) => {
          if (cuts === 0) return getArchive(options);
          cuts -= 1;
          return Readable.from([]);
        }) as typeof container.getArchive;
        return container;
      }
    }
    executor = new DockerExecutor(new CuttingArchives(), `copy-retry-${process.pid}`);
    handle = await executor.start({
      buildId: 9_300_001,
      image: TEST_IMAGE,
      env: {},
      network: 'none',
      volumes: ['/target'],
    });
    const code = await executor.exec(handle, 'echo kernel > /target/vmlinuz.efi', {
      onOutput: () => undefined,
    });
    assert.equal(code, 0);
  });

  after(async () => {
    if (handle) await executor.destroy(handle);
    rmSync(dir, { recursive: true, force: true });
  });

  it('one cut: the file is read again and copied whole', async () => {
    cuts = 1;
    const destination = join(dir, 'once');
    const { bytes } = await executor.copyFileOut(handle, '/target/vmlinuz.efi', destination, {
      maxBytes: 1024,
    });
    assert.equal(cuts, 0);
    assert.equal(bytes, 7);
    assert.equal(readFileSync(destination, 'utf8'), 'kernel\n');
  });

  it('two cuts: an engine error, not the build’s missing file', async () => {
    cuts = 2;
    await assert.rejects(
      executor.copyFileOut(handle, '/target/vmlinuz.efi', join(dir, 'twice'), { maxBytes: 1024 }),
      (error: unknown) => error instanceof ArchiveEnded && !(error instanceof FileRefused),
    );
    assert.equal(cuts, 0);
  });

  it('a path that is not there is still the build’s missing file', async () => {
    cuts = 0;
    await assert.rejects(
      executor.copyFileOut(handle, '/target/nothing', join(dir, 'none'), { maxBytes: 1024 }),
      (error: unknown) => error instanceof FileRefused && error.kind === 'missing',
    );
  });
});
