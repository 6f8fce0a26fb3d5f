/**
 * Engines: 12 pushes over 3 repositories (each build `sleep 2`), on one engine and on two (the
 * local one and the second dockerd of scripts/start-second-engine.sh), each at capacity 1; the
 * wall time from the first push to the last build's end, and the ratio.
 */
import { TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal } from '../test/helpers/harness.js';
import { secondEngine } from '../test/helpers/second-engine.js';
import { fail, figure } from './report.js';

const rule = { image: TEST_IMAGE, checkout: '/src', network: 'none', steps: ['sleep 2'] };

async function wallTime(engines: { name: string; url: string; capacity: number }[]): Promise<number> {
  const h = await startHarness({
    concurrency: engines.length,
    extra: { engines },
    repositories: { 'bench/a': rule, 'bench/b': rule, 'bench/c': rule },
  });
  try {
    const repos = ['bench/a', 'bench/b', 'bench/c'].map((r) => new LocalRepo(h.gitRoot, r));
    const commits = repos.map((repo) => ['m1', 'm2', 'm3', 'm4'].map((b) => repo.commit(b, { b })));
    const started = performance.now();
    const ids: number[] = [];
    for (const [i, repo] of repos.entries())
      for (const [j, branch] of ['m1', 'm2', 'm3', 'm4'].entries())
        ids.push((await enqueuePush(h, repo.repository, branch, commits[i]![j]!)).id);
    const builds = await Promise.all(ids.map((id) => waitForFinal(h, id, 300_000)));
    if (builds.some((b) => b.state !== 'success')) fail('a build did not succeed');
    return (performance.now() - started) / 1000;
  } finally {
    await h.close();
    removeHome(h);
  }
}

export async function benchEngines(): Promise<string[]> {
  const e2 = secondEngine();
  if (typeof e2 === 'string') fail(e2);
  const one = { name: 'one', url: 'unix:///var/run/docker.sock', capacity: 1 };
  const single = await wallTime([one]);
  const two = await wallTime([one, { name: 'two', url: (e2 as { url: string }).url, capacity: 1 }]);
  return [figure('12 builds, 1 engine', single, 's'), figure('12 builds, 2 engines', two, 's', single)];
}
