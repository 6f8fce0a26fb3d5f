/** Incremental payoff: a full build whose base work takes ~20 s, then a ~1 s component build on its image. */
import { DockerExecutor } from '../src/executor/docker/docker-executor.js';
import { removeImages, requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { buildSeconds, pushAndWait } from './build-timing.js';
import { fail, figure } from './report.js';

const FULL_SECONDS = Number(process.env.BENCH_FULL_SECONDS ?? 20);

export async function benchIncremental(): Promise<string[]> {
  const docker = await requireDocker();
  const h = await startHarness({
    executor: new DockerExecutor(docker),
    repositories: {
      'bench/base': {
        image: TEST_IMAGE,
        checkout: '/base',
        network: 'none',
        commit: 'autobuilder-bench/base:{branch}',
        steps: [`sleep ${FULL_SECONDS}`, 'echo base > /target/vmlinuz.efi'],
      },
      'bench/component': {
        base: 'bench/base',
        checkout: '/component',
        network: 'none',
        steps: ['sleep 1', 'echo component > /target/vmlinuz.efi'],
      },
    },
  });
  await h.listen();
  try {
    const base = new LocalRepo(h.gitRoot, 'bench/base');
    const component = new LocalRepo(h.gitRoot, 'bench/component');
    const full = await pushAndWait(h, 'bench/base', 'master', base.commit('master', { a: '1' }));
    const inc = await pushAndWait(h, 'bench/component', 'master', component.commit('master', { b: '1' }));
    if (full.state !== 'success' || inc.state !== 'success') fail(`builds ended ${full.state}/${inc.state}`);
    return [figure('incremental build wall time', buildSeconds(inc), 's', buildSeconds(full))];
  } finally {
    await h.close();
    removeHome(h);
    await removeImages(docker, 'autobuilder-bench/base');
  }
}
