import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Docker from 'dockerode';
import { ENGINE_TIMEOUTS, EngineTimeout } from '../../src/executor/docker/engine-timeout.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { removeImages, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { executorContract } from './executor.contract.js';

executorContract('fake', async () => ({
  executor: new FakeExecutor([TEST_IMAGE]),
  image: TEST_IMAGE,
  commitRepo: 'contract/fake',
}));

executorContract('Docker', async () => {
  const docker = await requireDocker();
  return {
    executor: new DockerExecutor(docker),
    image: TEST_IMAGE,
    commitRepo: 'autobuilder-contract/committed',
    cleanup: () => removeImages(docker, 'autobuilder-contract/committed'),
  };
});

it('Docker: a service lists (and so removes at start) only the containers it made', async () => {
  const docker = await requireDocker();
  const mine = new DockerExecutor(docker, 'instance-a');
  const theirs = new DockerExecutor(docker, 'instance-b');
  const handle = await theirs.start({
    buildId: 4242,
    image: TEST_IMAGE,
    env: {},
    network: 'none',
  });
  try {
    assert.ok(!(await mine.listManaged()).some((c) => c.id === handle.id));
    assert.ok((await theirs.listManaged()).some((c) => c.id === handle.id));
  } finally {
    await theirs.destroy(handle);
  }
});

it('Docker: copyFileOut gives up on an engine that stops answering, leaving no file', async () => {
  // A real socket that accepts the request and never answers: the deadline, not the caller, ends it.
  const dir = mkdtempSync(join(tmpdir(), 'ab-silent-'));
  const socketPath = join(dir, 'docker.sock');
  const held: ServerResponse[] = [];
  const server = createServer((_request, response) => void held.push(response));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    const executor = new DockerExecutor(new Docker({ socketPath }), 'silent', {
      ...ENGINE_TIMEOUTS,
      call: 300,
    });
    const destination = join(dir, 'out');
    await assert.rejects(
      executor.copyFileOut({ id: 'c0ffee', buildId: 1 }, '/target/vmlinuz.efi', destination, {
        maxBytes: 1024,
      }),
      (error: unknown) => error instanceof EngineTimeout,
    );
    assert.equal(existsSync(destination), false);
  } finally {
    for (const response of held) response.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
