/** The Executor contract: the Docker executor and the fake both pass it. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pack, type Header } from 'tar-stream';
import {
  FileRefused,
  SourceNotUnpacked,
  type ContainerHandle,
  type Executor,
} from '../../src/executor/executor.js';

export interface ContractSetup {
  executor: Executor;
  image: string;
  /** Image repository the contract may commit into and clean up afterwards. */
  commitRepo: string;
  /** Another service's executor on the same engine (another instance label). */
  otherInstance: () => Executor;
  cleanup?: () => Promise<void>;
}

function tarOf(
  files: Record<string, string>,
  special: (Partial<Header> & { name: string })[] = [],
): Readable {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name }, content);
  for (const header of special) archive.entry(header);
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
      for (const dir of stagingDirs) rmSync(dir, { recursive: true, force: true });
    });
    const start = (env: Record<string, string> = {}, volumes: string[] = []) =>
      s.executor.start({ buildId: ++buildId, image: s.image, env, network: 'none', volumes });
    const stagingDirs: string[] = [];
    const staging = () => {
      stagingDirs.push(mkdtempSync(join(tmpdir(), 'ab-copy-')));
      return join(stagingDirs.at(-1)!, 'out');
    };

    it('answers ping and knows its image', async () => {
      await s.executor.ping();
      assert.equal(await s.executor.ensureImage(s.image), true);
    });

    it('runs commands, streams their output and returns their exit codes', async () => {
      const handle = await start({ GREETING: 'hello' });
      try {
        assert.deepEqual(await run(s.executor, handle, 'echo $GREETING'), { code: 0, out: 'hello\n' });
        assert.equal((await run(s.executor, handle, 'echo out && exit 3')).code, 3);
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('places a tar archive into the container; a volume starts empty and is not committed', async () => {
      const handle = await start({}, ['/target']);
      try {
        await s.executor.putArchive(handle, '/', tarOf({ 'src/hello.txt': 'from tar\n' }));
        assert.deepEqual(await run(s.executor, handle, 'cat /src/hello.txt'), { code: 0, out: 'from tar\n' });
        assert.equal((await run(s.executor, handle, 'echo kernel > /target/vmlinuz.efi')).code, 0);
        await s.executor.commit(handle, `${s.commitRepo}:volume`);
      } finally {
        await s.executor.destroy(handle);
      }
      const next = await s.executor.start({
        buildId: ++buildId,
        image: `${s.commitRepo}:volume`,
        env: {},
        network: 'none',
        volumes: ['/target'],
      });
      try {
        assert.equal((await run(s.executor, next, 'cat /src/hello.txt')).code, 0, 'the layer was committed');
        assert.notEqual(
          (await run(s.executor, next, 'cat /target/vmlinuz.efi')).code,
          0,
          'the volume was not',
        );
      } finally {
        await s.executor.destroy(next);
      }
    });

    it('copies a regular file out of the container, resolving its path inside the container', async () => {
      const handle = await start({}, ['/target']);
      try {
        assert.equal((await run(s.executor, handle, 'echo kernel > /target/vmlinuz.efi')).code, 0);
        const destination = staging();
        const copied = await s.executor.copyFileOut(handle, '/target/vmlinuz.efi', destination, {
          maxBytes: 7,
        });
        assert.deepEqual(copied, { bytes: 7 });
        assert.equal(readFileSync(destination, 'utf8'), 'kernel\n');
        assert.equal(statSync(destination).mode & 0o777, 0o600);
        // A symlinked parent directory leads to the container's /etc, never the host's.
        await s.executor.putArchive(
          handle,
          '/',
          tarOf({}, [{ name: 'out/d', type: 'symlink', linkname: '/etc' }]),
        );
        assert.equal((await run(s.executor, handle, 'echo container-own > /etc/own')).code, 0);
        const own = staging();
        await s.executor.copyFileOut(handle, '/out/d/own', own, { maxBytes: 1024 });
        assert.equal(readFileSync(own, 'utf8'), 'container-own\n');
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('refuses what is not a regular, non-empty file within the limit, leaving no file', async () => {
      const handle = await start();
      try {
        await s.executor.putArchive(
          handle,
          '/',
          tarOf({ 'out/empty': '', 'out/big': 'twelve bytes', 'out/dir/inside': 'xx' }, [
            { name: 'out/link', type: 'symlink', linkname: '/etc/passwd' },
            { name: 'out/fifo', type: 'fifo', mode: 0o644 },
            { name: 'out/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
            { name: 'out/dir/', type: 'directory', mode: 0o755 },
          ]),
        );
        const cases: [string, string][] = [
          ['/out/link', 'symlink'],
          ['/out/fifo', 'fifo'],
          ['/out/null', 'device'],
          ['/out/dir', 'directory'],
          ['/out/empty', 'empty'],
          ['/out/big', 'too-large'],
          ['/out/missing', 'missing'],
        ];
        for (const [path, kind] of cases) {
          const destination = staging();
          await assert.rejects(
            s.executor.copyFileOut(handle, path, destination, { maxBytes: 11 }),
            (error: unknown) => error instanceof FileRefused && error.kind === kind && error.path === path,
            `${path} is refused as ${kind}`,
          );
          assert.equal(existsSync(destination), false, `${path}: nothing is left behind`);
        }
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('an aborted copy rejects and leaves no file', async () => {
      const handle = await start();
      try {
        assert.equal((await run(s.executor, handle, 'echo kernel > /out.efi')).code, 0);
        const destination = staging();
        await assert.rejects(
          s.executor.copyFileOut(handle, '/out.efi', destination, {
            maxBytes: 1024,
            signal: AbortSignal.abort(),
          }),
        );
        assert.equal(existsSync(destination), false);
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
      });
      try {
        assert.deepEqual(await run(s.executor, next, 'cat /state/file'), { code: 0, out: 'kept\n' });
      } finally {
        await s.executor.destroy(next);
      }
    });

    it('retag moves a name to a committed image and drops the pending name; removeImage is idempotent', async () => {
      const handle = await start();
      await s.executor.putArchive(handle, '/', tarOf({ 'state/file': 'retagged\n' }));
      const pending = `autobuilder-pending/contract:${buildId}`;
      await s.executor.commit(handle, pending);
      await s.executor.destroy(handle);
      const { replaced } = await s.executor.retag(pending, `${s.commitRepo}:retagged`);
      assert.equal(typeof replaced === 'string' || replaced === null, true);
      assert.ok((await s.executor.listTags(s.commitRepo)).includes('retagged'));
      assert.deepEqual(
        await s.executor.listTags('autobuilder-pending/contract'),
        [],
        'the pending name is gone',
      );
      // Done once: a second call for the same move succeeds; an absent name is removed quietly.
      await s.executor.retag(pending, `${s.commitRepo}:retagged`);
      await s.executor.removeImage(`${s.commitRepo}:never-made`);
      const next = await s.executor.start({
        buildId: ++buildId,
        image: `${s.commitRepo}:retagged`,
        env: {},
        network: 'none',
      });
      try {
        assert.deepEqual(await run(s.executor, next, 'cat /state/file'), { code: 0, out: 'retagged\n' });
      } finally {
        await s.executor.destroy(next);
        await s.executor.removeImage(`${s.commitRepo}:retagged`);
      }
      assert.equal((await s.executor.listTags(s.commitRepo)).includes('retagged'), false);
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

    it("runs commands in the container's working directory (created for it), or in the one exec names", async () => {
      const handle = await s.executor.start({
        buildId: ++buildId,
        image: s.image,
        env: {},
        network: 'none',
        workingDir: '/work/dir',
      });
      try {
        await s.executor.putArchive(handle, '/work/dir', tarOf({ put: 'there\n' }));
        assert.deepEqual(await run(s.executor, handle, 'pwd && cat put'), {
          code: 0,
          out: '/work/dir\nthere\n',
        });
        let out = '';
        const code = await s.executor.exec(handle, 'pwd && echo hi > here', {
          workingDir: '/tmp',
          onOutput: (chunk) => (out += chunk.toString()),
        });
        assert.deepEqual({ code, out }, { code: 0, out: '/tmp\n' });
        assert.deepEqual(await run(s.executor, handle, 'cat /tmp/here'), { code: 0, out: 'hi\n' });
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it("runs the first step as the created container's process: source put in first, its own exit code", async () => {
      const handle = await s.executor.create({
        buildId: ++buildId,
        image: s.image,
        env: { GREETING: 'hello' },
        network: 'none',
        volumes: ['/target'],
        firstStep: { command: 'pwd && cat put && echo $GREETING && exit 3', workingDir: '/work/src' },
      });
      try {
        // Into the created container: nothing has run in it yet.
        await s.executor.putArchive(handle, '/', tarOf({ 'work/src/put': 'there\n' }));
        let out = '';
        const code = await s.executor.runFirstStep(handle, {
          onOutput: (chunk) => (out += chunk.toString()),
        });
        assert.deepEqual({ code, out }, { code: 3, out: '/work/src\nthere\nhello\n' });
        await assert.rejects(run(s.executor, handle, 'true'), 'a stopped container runs no exec');
        // Started again, it waits for exec: step 1 (which exits at once) is not run again.
        await s.executor.resume(handle);
        assert.deepEqual(await run(s.executor, handle, 'sleep 1 && cat /work/src/put'), {
          code: 0,
          out: 'there\n',
        });
      } finally {
        await s.executor.destroy(handle);
      }
    });

    const stdinStep = (command: string) =>
      s.executor.create({
        buildId: ++buildId,
        image: s.image,
        env: {},
        network: 'none',
        volumes: ['/target'],
        firstStep: { command, workingDir: '/work/src', sourceOnStdin: true },
      });
    const archiveOf = async (tar: Readable) => {
      const chunks: Buffer[] = [];
      for await (const chunk of tar) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };

    it('takes the source on step 1 stdin once the container runs: the whole tree, then the step, its own exit code', async () => {
      const handle = await stdinStep('pwd && cat put && cat deep/er/file && exit 3');
      try {
        assert.equal(handle.sourceOnStdin, true);
        // Larger than a pipe's buffer: written with back-pressure, all of it before the step runs.
        const big = 'x'.repeat(3 * 1024 * 1024);
        const bytes = await archiveOf(
          tarOf({ 'work/src/put': 'there\n', 'work/src/deep/er/file': 'deep\n', 'work/src/big': big }),
        );
        let asked = 0;
        let out = '';
        const code = await s.executor.runFirstStep(handle, {
          onOutput: (chunk) => (out += chunk.toString()),
          source: async () => {
            asked += 1;
            // The commit arrives while the container already runs.
            await new Promise((resolve) => setImmediate(resolve));
            return { tar: Readable.from([bytes]), bytes: bytes.length };
          },
        });
        assert.equal(asked, 1);
        assert.deepEqual({ code, out }, { code: 3, out: '/work/src\nthere\ndeep\n' });
        const destination = staging();
        const copied = await s.executor.copyFileOut(handle, '/work/src/big', destination, {
          maxBytes: big.length,
        });
        assert.deepEqual(copied, { bytes: big.length });
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('an archive that cannot be unpacked is SourceNotUnpacked, never an exit code of step 1', async () => {
      const handle = await stdinStep('echo step-ran');
      try {
        let out = '';
        const garbage = Buffer.alloc(4096, 'x');
        await assert.rejects(
          s.executor.runFirstStep(handle, {
            onOutput: (chunk) => (out += chunk.toString()),
            source: async () => ({ tar: Readable.from([garbage]), bytes: garbage.length }),
          }),
          (error: unknown) => error instanceof SourceNotUnpacked && error.kind === 'failed',
        );
        assert.doesNotMatch(out, /step-ran/);
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('a source that fails (fetch or a stream cut short) kills the container and rejects with its error', async () => {
      for (const source of [
        async () => Promise.reject(new Error('fetch failed here')),
        async () => {
          const whole = await archiveOf(tarOf({ 'work/src/put': 'y'.repeat(100_000) }));
          const cut = new Readable({ read() {} });
          cut.push(whole.subarray(0, 20_000));
          setImmediate(() => cut.destroy(new Error('fetch failed here')));
          return { tar: cut, bytes: whole.length };
        },
      ]) {
        const handle = await stdinStep('echo step-ran');
        try {
          let out = '';
          await assert.rejects(
            s.executor.runFirstStep(handle, { onOutput: (chunk) => (out += chunk.toString()), source }),
            /fetch failed here/,
          );
          assert.doesNotMatch(out, /step-ran/);
        } finally {
          await s.executor.destroy(handle);
        }
      }
    });

    it('aborting while the source is awaited ends the first step at once with 137', async () => {
      const handle = await stdinStep('echo step-ran');
      try {
        const controller = new AbortController();
        let out = '';
        const code = await s.executor.runFirstStep(handle, {
          onOutput: (chunk) => (out += chunk.toString()),
          signal: controller.signal,
          source: () => {
            controller.abort();
            return new Promise(() => undefined); // a fetch that never ends
          },
        });
        assert.equal(code, 137);
        assert.doesNotMatch(out, /step-ran/);
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('a first step that is the last leaves a stopped container to copy from and commit', async () => {
      const handle = await s.executor.create({
        buildId: ++buildId,
        image: s.image,
        env: {},
        network: 'none',
        volumes: ['/target'],
        firstStep: { command: 'echo kernel > /target/vmlinuz.efi && echo layer > /in-layer' },
      });
      try {
        assert.equal(await s.executor.runFirstStep(handle, { onOutput: () => undefined }), 0);
        const destination = staging();
        assert.deepEqual(
          await s.executor.copyFileOut(handle, '/target/vmlinuz.efi', destination, { maxBytes: 100 }),
          { bytes: 7 },
        );
        assert.equal(readFileSync(destination, 'utf8'), 'kernel\n');
        await s.executor.commit(handle, `${s.commitRepo}:first-step`);
      } finally {
        await s.executor.destroy(handle);
      }
      const next = await s.executor.start({
        buildId: ++buildId,
        image: `${s.commitRepo}:first-step`,
        env: {},
        network: 'none',
      });
      try {
        assert.deepEqual(await run(s.executor, next, 'cat /in-layer'), { code: 0, out: 'layer\n' });
        // The note that step 1 ran is not in the image: it would skip the next build's step 1.
        assert.notEqual((await run(s.executor, next, 'cat /run/autobuilder/first-step-ran')).code, 0);
      } finally {
        await s.executor.destroy(next);
        await s.executor.removeImage(`${s.commitRepo}:first-step`);
      }
    });

    it('aborting the first step ends it at once with 137', async () => {
      const handle = await s.executor.create({
        buildId: ++buildId,
        image: s.image,
        env: {},
        network: 'none',
        firstStep: { command: 'echo started && sleep 30' },
      });
      try {
        const controller = new AbortController();
        const started = Date.now();
        const code = await s.executor.runFirstStep(handle, {
          onOutput: (chunk) => chunk.toString().includes('started') && controller.abort(),
          signal: controller.signal,
        });
        assert.equal(code, 137);
        assert.ok(Date.now() - started < 10_000, 'the step did not run to its end');
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('refuses to put an archive into a directory that does not exist', async () => {
      const handle = await start();
      try {
        await assert.rejects(s.executor.putArchive(handle, '/no/such/dir', tarOf({ file: 'x' })));
      } finally {
        await s.executor.destroy(handle);
      }
    });

    it('destroy ends a command that is still running (an error or a non-zero code, never 0)', async () => {
      const handle = await start();
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const exec = s.executor.exec(handle, 'echo started && sleep 30', {
        onOutput: (chunk) => chunk.toString().includes('started') && started(),
      });
      await running;
      await s.executor.destroy(handle);
      const outcome = await exec.then(
        (code) => code,
        () => 'error',
      );
      assert.notEqual(outcome, 0);
    });

    it('commit returns the image id, which start takes like a name', async () => {
      const handle = await start();
      await s.executor.putArchive(handle, '/', tarOf({ 'state/by-id': 'by id\n' }));
      const { imageId } = await s.executor.commit(handle, `${s.commitRepo}:by-id`);
      await s.executor.destroy(handle);
      assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
      const next = await s.executor.start({ buildId: ++buildId, image: imageId, env: {}, network: 'none' });
      try {
        assert.deepEqual(await run(s.executor, next, 'cat /state/by-id'), { code: 0, out: 'by id\n' });
      } finally {
        await s.executor.destroy(next);
        await s.executor.removeImage(`${s.commitRepo}:by-id`);
      }
    });

    it('lists (and so removes at start) only the containers its own service instance made', async () => {
      const theirs = s.otherInstance();
      const handle = await theirs.start({ buildId: ++buildId, image: s.image, env: {}, network: 'none' });
      try {
        assert.ok(!(await s.executor.listManaged()).some((c) => c.id === handle.id));
        assert.ok((await theirs.listManaged()).some((c) => c.id === handle.id));
      } finally {
        await theirs.destroy(handle);
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

    const volumeName = (what: string) => `autobuilder-contract-${what}-${process.pid}`;
    const withCache = (volume: string, readOnly: boolean) =>
      s.executor.start({
        buildId: ++buildId,
        image: s.image,
        env: {},
        network: 'none',
        caches: [{ volume, target: '/cache', readOnly }],
      });

    it('a cache volume outlives its containers; read-only mounts cannot write; removal waits for no mount', async () => {
      const volume = volumeName('cache');
      try {
        assert.equal(await s.executor.hasVolume(volume), false);
        assert.equal(await s.executor.createVolume(volume, { 'contract.label': 'yes' }), true);
        assert.equal(await s.executor.createVolume(volume, { 'contract.label': 'other' }), false);
        assert.equal(await s.executor.hasVolume(volume), true);
        const writer = await withCache(volume, false);
        assert.equal((await run(s.executor, writer, 'echo cached > /cache/f')).code, 0);
        await s.executor.destroy(writer);
        const reader = await withCache(volume, true);
        try {
          assert.deepEqual(await run(s.executor, reader, 'cat /cache/f'), { code: 0, out: 'cached\n' });
          assert.notEqual((await run(s.executor, reader, 'echo changed > /cache/f')).code, 0);
          const listed = (await s.executor.listVolumes()).find((v) => v.name === volume);
          assert.equal(listed?.labels['contract.label'], 'yes', 'labels of the first create stay');
          assert.ok(listed.sizeBytes === null || listed.sizeBytes > 0);
          assert.equal(await s.executor.removeVolume(volume), false, 'mounted: kept');
          assert.equal(await s.executor.hasVolume(volume), true);
        } finally {
          await s.executor.destroy(reader);
        }
        const again = await withCache(volume, false);
        assert.deepEqual(await run(s.executor, again, 'cat /cache/f'), { code: 0, out: 'cached\n' });
        await s.executor.destroy(again);
        assert.equal(await s.executor.removeVolume(volume), true);
        assert.equal(await s.executor.removeVolume(volume), true, 'idempotent');
        assert.equal(await s.executor.hasVolume(volume), false);
        assert.ok(!(await s.executor.listVolumes()).some((v) => v.name === volume));
      } finally {
        await s.executor.removeVolume(volume).catch(() => undefined);
      }
    });

    it("copyVolume fills a new volume with another's content and leaves the source as it was", async () => {
      const from = volumeName('seed-from');
      const to = volumeName('seed-to');
      try {
        await s.executor.createVolume(from, {});
        await s.executor.createVolume(to, {});
        const writer = await withCache(from, false);
        await run(s.executor, writer, 'echo seeded > /cache/f');
        await s.executor.destroy(writer);
        await s.executor.copyVolume(from, to, s.image);
        const reader = await withCache(to, false);
        try {
          assert.deepEqual(await run(s.executor, reader, 'cat /cache/f'), { code: 0, out: 'seeded\n' });
          await run(s.executor, reader, 'echo own > /cache/f');
        } finally {
          await s.executor.destroy(reader);
        }
        const source = await withCache(from, true);
        try {
          assert.deepEqual(await run(s.executor, source, 'cat /cache/f'), { code: 0, out: 'seeded\n' });
        } finally {
          await s.executor.destroy(source);
        }
      } finally {
        await s.executor.removeVolume(from).catch(() => undefined);
        await s.executor.removeVolume(to).catch(() => undefined);
      }
    });
  });
}
