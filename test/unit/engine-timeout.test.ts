/**
 * Every Engine API call has a deadline: against an engine socket that accepts connections and
 * never answers, each executor call fails with a clear error instead of hanging.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { withTimeout } from '../../src/executor/docker/engine-timeout.js';
import { inspectImage } from '../../src/executor/docker/image-transfer.js';
import { ExecutorUnavailable } from '../../src/executor/executor.js';
import { Engine } from '../../src/executor/engine.js';
import { EnginePool } from '../../src/executor/engine-pool.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';

describe('Engine API deadlines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ab-mute-engine-'));
  const socketPath = join(dir, 'docker.sock');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  const executor = new DockerExecutor(new Docker({ socketPath }), 'mute', {
    call: 200,
    remove: 200,
    commit: 200,
  });
  const handle = { id: 'c0ffee', buildId: 1 };

  before(() => new Promise<void>((resolve) => server.listen(socketPath, resolve)));
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('putArchive fails after its deadline once the engine stops taking the archive or answering', async () => {
    // A source tree of a few MB: the engine reads it all, then never answers.
    const tar = pack();
    tar.entry({ name: 'src/big' }, Buffer.alloc(4 * 1024 * 1024, 'x'));
    tar.finalize();
    await assert.rejects(
      executor.putArchive(handle, '/', tar as unknown as Readable),
      /did not answer put archive within 0.2s/,
    );
  });

  it('create, start, attach, exec, commit, destroy, list and ping fail after their deadline', async () => {
    const spec = { buildId: 1, image: 'x', env: {}, network: 'none', binds: [] };
    await assert.rejects(executor.start(spec), /did not answer create container within 0.2s/);
    await assert.rejects(
      executor.exec(handle, 'true', { onOutput: () => undefined }),
      /did not answer exec create within 0.2s/,
    );
    await assert.rejects(executor.create(spec), /did not answer create container within 0.2s/);
    await assert.rejects(executor.resume(handle), /did not answer start container within 0.2s/);
    await assert.rejects(
      executor.runFirstStep(handle, { onOutput: () => undefined }),
      /did not answer attach within 0.2s/,
    );
    await assert.rejects(executor.commit(handle, 'a/b:c'), /did not answer commit within 0.2s/);
    await assert.rejects(executor.destroy(handle), /did not answer container remove within 0.2s/);
    await assert.rejects(executor.listManaged(), /did not answer list containers within 0.2s/);
    await assert.rejects(executor.listTags('a/b'), /did not answer list images within 0.2s/);
    await assert.rejects(executor.ping(), (error) => error instanceof ExecutorUnavailable);
  });

  it('an image inspect past its deadline closes its request (dockerode leaves the signal out)', async () => {
    const engine = await ownMuteEngine('inspect.sock');
    try {
      const quick = new DockerExecutor(new Docker({ socketPath: engine.path }), 'mute', {
        call: 200,
        remove: 200,
        commit: 200,
      });
      await assert.rejects(quick.ensureImage('x/y:z'), /did not answer image inspect within 0.2s/);
      // The server may see the connection only now (a loaded machine): wait for it, then for it closed.
      const arrived = Date.now() + 2000;
      while (engine.sockets.size === 0 && Date.now() < arrived) await new Promise((r) => setTimeout(r, 20));
      assert.equal(engine.sockets.size, 1, 'one request reached the engine');
      assert.equal(await engine.settledOpen(0), 0, 'the inspect left its connection open');
    } finally {
      await engine.close();
    }
  });

  it("the engine pool's health pings end their requests at the pool's deadline, not the executor's", async () => {
    // The executor's own deadline is a minute: each ping the pool gives up on at 100 ms must
    // close its connection then, or a hung engine collects one open request per round.
    const engine = await ownMuteEngine('pings.sock');
    const patient = new DockerExecutor(new Docker({ socketPath: engine.path }), 'mute', {
      call: 60_000,
      remove: 60_000,
      commit: 60_000,
    });
    const mute = new Engine('mute', `unix://${engine.path}`, 1, patient);
    const pool = new EnginePool([mute, new Engine('other', 'fake://', 1, new FakeExecutor())], {
      intervalMs: 20,
      downAfterMs: 60_000,
      pingTimeoutMs: 100,
    });
    pool.start();
    try {
      const deadline = Date.now() + 10_000;
      while (engine.sockets.size < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const pings = engine.sockets.size;
      assert.ok(pings >= 4, `${pings} pings reached the engine`);
      // The round in flight holds one; the ones given up on are closed.
      const open = await engine.settledOpen(1);
      assert.ok(open <= 1, `${open} requests still open, ${engine.sockets.size} pings sent`);
    } finally {
      pool.stop();
      await engine.close();
    }
  });

  it('a call whose caller stopped already is not made', async () => {
    let made = 0;
    const call = async () => {
      made += 1;
    };
    await assert.rejects(withTimeout('ping', 1000, call, AbortSignal.abort()), /ping aborted/);
    assert.equal(made, 0);
  });

  it("the image inspect sends what dockerode's own Image.inspect sends, and the deadline's signal", async () => {
    // Dialled by hand (dockerode leaves the signal out): this catches a dockerode upgrade that
    // changes the request.
    type Dial = typeof docker.modem.dial;
    const dialled: Parameters<Dial>[0][] = [];
    const docker = new Docker({ socketPath });
    docker.modem.dial = ((options, callback) => {
      dialled.push(options);
      callback?.(null, { Id: 'sha256:1' });
    }) as Dial;
    for (const name of [
      'acme/os:master',
      '127.0.0.1:5000/acme/os:pr-7',
      'sha256:0123abcd',
      'acme/os@sha256:0123abcd',
    ]) {
      dialled.length = 0;
      assert.deepEqual(await inspectImage(docker, name), { Id: 'sha256:1' });
      await docker.getImage(name).inspect();
      const [ours, theirs] = dialled;
      assert.ok(ours?.abortSignal instanceof AbortSignal, 'ours carries the signal');
      assert.deepEqual({ ...ours, abortSignal: undefined }, { ...theirs, abortSignal: undefined }, name);
    }
  });

  /** An engine socket of a case's own that takes connections and never answers. */
  async function ownMuteEngine(name: string) {
    const path = join(dir, name);
    const sockets = new Set<Socket>();
    const engine = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => engine.listen(path, resolve));
    const open = () => [...sockets].filter((socket) => !socket.destroyed).length;
    return {
      path,
      sockets,
      /** Open connections once they are down to `target`, or after 2 s. */
      settledOpen: async (target: number) => {
        const settle = Date.now() + 2000;
        while (open() > target && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
        return open();
      },
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => engine.close(resolve));
      },
    };
  }
});
