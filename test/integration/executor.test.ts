import assert from 'node:assert/strict';
import { it } from 'node:test';
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
