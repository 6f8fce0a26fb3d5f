/**
 * Build caches: a full build whose step fills a 300 MB cache directory the first time (random
 * data, then hashed: a stand-in for downloading and verifying packages), and the next build of
 * the branch, whose step finds the cache and only checks it. Goal: second / first ≤ 0.2.
 */
import { execFileSync } from 'node:child_process';
import { DockerExecutor } from '../src/executor/docker/docker-executor.js';
import { INSTANCE_LABEL } from '../src/executor/executor.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { buildSeconds, pushAndWait } from './build-timing.js';
import { fail, figure } from './report.js';

const CACHE = '/var/cache/bench';
const FILES = 30; // × 10 MB
const STEP = [
  `if [ -f ${CACHE}/complete ]; then`,
  `  echo "cache warm: $(du -sm ${CACHE} | cut -f1) MB, $(wc -l < ${CACHE}/SHA256SUMS) files"`,
  'else',
  `  mkdir -p ${CACHE}/files; i=0`,
  `  while [ $i -lt ${FILES} ]; do dd if=/dev/urandom of=${CACHE}/files/$i bs=1M count=10 2>/dev/null; i=$((i+1)); done`,
  `  sha256sum ${CACHE}/files/* > ${CACHE}/SHA256SUMS && touch ${CACHE}/complete`,
  `  echo "cache filled: $(du -sm ${CACHE} | cut -f1) MB"`,
  'fi',
].join('\n');

export async function benchBuildCache(): Promise<string[]> {
  const docker = await requireDocker();
  const instance = `bench-cache-${process.pid}`;
  const h = await startHarness({
    executor: new DockerExecutor(docker, instance),
    repositories: {
      'bench/cached': {
        image: TEST_IMAGE,
        checkout: '/src',
        network: 'none',
        cache: [CACHE],
        steps: [STEP],
        timeout: '10m',
      },
    },
  });
  await h.listen();
  try {
    const repo = new LocalRepo(h.gitRoot, 'bench/cached');
    const first = await pushAndWait(h, 'bench/cached', 'master', repo.commit('master', { a: '1' }));
    const second = await pushAndWait(h, 'bench/cached', 'master', repo.commit('master', { a: '2' }));
    if (first.state !== 'success' || second.state !== 'success')
      fail(`builds ended ${first.state}/${second.state}`);
    return [figure('cache second build wall time', buildSeconds(second), 's', buildSeconds(first))];
  } finally {
    await h.close();
    removeHome(h);
    const volumes = execFileSync(
      'docker',
      ['volume', 'ls', '-q', '--filter', `label=${INSTANCE_LABEL}=${instance}`],
      {
        encoding: 'utf8',
      },
    );
    for (const volume of volumes.split('\n').filter(Boolean))
      execFileSync('docker', ['volume', 'rm', '-f', volume]);
  }
}
