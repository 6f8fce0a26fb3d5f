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
