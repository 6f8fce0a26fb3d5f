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
import Docker from 'dockerode';
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

  it('start, exec, commit, destroy, list and ping fail after their deadline', async () => {
    const spec = { buildId: 1, image: 'x', env: {}, network: 'none', binds: [] };
    await assert.rejects(executor.start(spec), /did not answer create container within 0.2s/);
    await assert.rejects(
      executor.exec(handle, 'true', { onOutput: () => undefined }),
      /did not answer exec create within 0.2s/,
    );
    await assert.rejects(executor.commit(handle, 'a/b:c'), /did not answer commit within 0.2s/);
    await assert.rejects(executor.destroy(handle), /did not answer container remove within 0.2s/);
    await assert.rejects(executor.listManaged(), /did not answer list containers within 0.2s/);
    await assert.rejects(executor.listTags('a/b'), /did not answer list images within 0.2s/);
    await assert.rejects(executor.ping(), (error) => error instanceof ExecutorUnavailable);
  });
});
