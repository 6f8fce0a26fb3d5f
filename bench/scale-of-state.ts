/**
 * Scale of state: /build/history (first page) and /build/status with 100k finished builds in the
 * store, against the same requests on a store of 100 builds, in the same run.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { fail, figure } from './report.js';
import { runLoad } from './run-load.js';
import { seedBuilds } from './seed-builds.js';

const BIG = Number(process.env.BENCH_BUILDS ?? 100_000);
const REQUESTS = 300;

async function measure(count: number) {
  const h = await startHarness({
    executor: new FakeExecutor(),
    repositories: { 'org/repo0': { image: 'fake/base:latest', checkout: '/s', steps: ['true'] } },
  });
  await h.close();
  const dbPath = join(h.home, 'data', 'autobuilder.db');
  seedBuilds(dbPath, count);
  const again = await startHarness({
    executor: new FakeExecutor(),
    home: h.home,
    gitRoot: h.gitRoot,
    repositories: { 'org/repo0': { image: 'fake/base:latest', checkout: '/s', steps: ['true'] } },
  });
  const url = await again.listen();
  try {
    const history = await runLoad({
      url: `${url}/build/history`,
      concurrency: 1,
      requests: REQUESTS,
      offset: 0,
    });
    const status = await runLoad({
      url: `${url}/build/status`,
      concurrency: 1,
      requests: REQUESTS,
      offset: 0,
    });
    if (history.errors + status.errors > 0) fail(`${history.errors + status.errors} requests failed`);
    return { history, status, bytes: statSync(dbPath).size };
  } finally {
    await again.close();
    removeHome(again);
  }
}

export async function benchScaleOfState(): Promise<string[]> {
  const small = await measure(100);
  const big = await measure(BIG);
  return [
    figure(`history p50 with ${BIG} builds`, big.history.p50, 'ms', small.history.p50),
    figure(`history p99 with ${BIG} builds`, big.history.p99, 'ms', small.history.p99),
    figure(`status p99 with ${BIG} builds`, big.status.p99, 'ms', small.status.p99),
    figure(`database size with ${BIG} builds`, big.bytes / 1024 / 1024, 'MB', small.bytes / 1024 / 1024),
  ];
}
