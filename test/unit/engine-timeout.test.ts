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
import { ExecutorUnavailable } from '../../src/executor/executor.js';

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
});
