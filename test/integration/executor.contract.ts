/** The Executor contract: the Docker executor and the fake both pass it. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pack } from 'tar-stream';
import type { ContainerHandle, Executor } from '../../src/executor/executor.js';

export interface ContractSetup {
  executor: Executor;
  image: string;
  /** Image repository the contract may commit into and clean up afterwards. */
  commitRepo: string;
  cleanup?: () => Promise<void>;
}

function tarOf(files: Record<string, string>): Readable {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name }, content);
  archive.finalize();
  return archive as unknown as Readable;
}

async function run(executor: Executor, handle: ContainerHandle, command: string, signal?: AbortSignal) {
  let out = '';
  const code = await executor.exec(handle, command, {
    onOutput: (chunk) => (out += chunk.toString()),
    signal,
  });
  return { code, out };
}

export function executorContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`Executor contract: ${name}`, () => {
    let s: ContractSetup;
    let buildId = 9_000_000;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s.cleanup?.();
    });
    const start = (
      binds: { hostPath: string; containerPath: string }[] = [],
      env: Record<string, string> = {},
    ) => s.executor.start({ buildId: ++buildId, image: s.image, env, network: 'none', binds });

    it('answers ping and knows its image', async () => {
      await s.executor.ping();
      assert.equal(await s.executor.ensureImage(s.image), true);
    });

    it('runs commands, streams their output and returns their exit codes', async () => {
      const handle = await start([], { GREETING: 'hello' });
      try {
        assert.deepEqual(await run(s.executor, handle, 'echo $GREETING'), { code: 0, out: 'hello\n' });
        assert.equal((await run(s.executor, handle, 'echo out && exit 3')).code, 3);
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('places a tar archive into the container and writes to a bound host directory', async () => {
      const host = mkdtempSync(join(tmpdir(), 'ab-bind-'));
      const handle = await start([{ hostPath: host, containerPath: '/target' }]);
      try {
        await s.executor.putArchive(handle, '/', tarOf({ 'src/hello.txt': 'from tar\n' }));
        assert.deepEqual(await run(s.executor, handle, 'cat /src/hello.txt'), { code: 0, out: 'from tar\n' });
        assert.equal((await run(s.executor, handle, 'echo kernel > /target/vmlinuz.efi')).code, 0);
        assert.equal(readFileSync(join(host, 'vmlinuz.efi'), 'utf8'), 'kernel\n');
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('commits a container as an image that later containers start from and listTags finds', async () => {
      const handle = await start();
      await s.executor.putArchive(handle, '/', tarOf({ 'state/file': 'kept\n' }));
      await s.executor.commit(handle, `${s.commitRepo}:contract`);
      await s.executor.destroy(handle);
      assert.ok((await s.executor.listTags(s.commitRepo)).includes('contract'));
      const next = await s.executor.start({
        buildId: ++buildId,
        image: `${s.commitRepo}:contract`,
        env: {},
        network: 'none',
        binds: [],
      });
      try {
        assert.deepEqual(await run(s.executor, next, 'cat /state/file'), { code: 0, out: 'kept\n' });
      } finally {
        await s.executor.destroy(next);
      }
    });

    it('aborting an exec ends it at once', async () => {
      const handle = await start();
      try {
        const controller = new AbortController();
        const started = Date.now();
        setTimeout(() => controller.abort(), 200);
        const { code } = await run(s.executor, handle, 'sleep 30', controller.signal);
        assert.notEqual(code, 0);
        assert.ok(Date.now() - started < 10_000, 'the command did not run to its end');
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('lists its containers by label; destroy is idempotent', async () => {
      const handle = await start();
      const listed = await s.executor.listManaged();
      assert.ok(listed.some((c) => c.id === handle.id && c.buildId === handle.buildId));
      await s.executor.destroy(handle);
      await s.executor.destroy(handle);
      await s.executor.destroy(handle.id);
      assert.ok(!(await s.executor.listManaged()).some((c) => c.id === handle.id));
    });
  });
}
