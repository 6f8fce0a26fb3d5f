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

executorContract('fake', async () => {
  const executor = new FakeExecutor([TEST_IMAGE], 'contract');
  return {
    executor,
    image: TEST_IMAGE,
    commitRepo: 'contract/fake',
    otherInstance: () => FakeExecutor.onSameEngine(executor, 'contract-other'),
  };
});

executorContract('Docker', async () => {
  const docker = await requireDocker();
  return {
    executor: new DockerExecutor(docker, 'contract'),
    image: TEST_IMAGE,
    commitRepo: 'autobuilder-contract/committed',
    otherInstance: () => new DockerExecutor(docker, 'contract-other'),
    cleanup: () => removeImages(docker, 'autobuilder-contract/committed'),
  };
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
