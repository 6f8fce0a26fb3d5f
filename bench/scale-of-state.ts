/**
 * Scale of state: /build/history (first page) and /build/status with 100k finished builds in the
 * store, against the same requests on a store of 100 builds, in the same run.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { fail, figure } from './report.js';
import { runLoad } from './run-load.js';

const BIG = Number(process.env.BENCH_BUILDS ?? 100_000);
const REQUESTS = 300;

function fill(path: string, count: number): void {
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, reason, pusher, commits, steps, attempt, created_at, started_at, finished_at, artifact, log_path)
     VALUES ('p', ?, 'branch', ?, ?, 'full', ?, ?, 'someone', ?, '[]', 1, ?, ?, ?, ?, ?)`,
  );
  const commits = JSON.stringify([
    {
      sha: 'a'.repeat(40),
      message: 'a commit message of ordinary length',
      author: 'A',
      url: 'https://github.com/x/y/commit/a',
    },
  ]);
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const time = new Date(1_700_000_000_000 + i * 60_000).toISOString();
      const failed = i % 7 === 0;
      insert.run(
        `org/repo${i % 3}`,
        `branch-${i % 40}`,
        i.toString(16).padStart(40, '0'),
        failed ? 'failed' : 'success',
        failed ? 'step 1 exited with code 2' : null,
        commits,
        time,
        time,
        time,
        failed ? null : `k-${i}.efi`,
        `/logs/build-${i}.log`,
      );
    }
  })();
  db.close();
}

async function measure(count: number) {
  const h = await startHarness({
    executor: new FakeExecutor(),
    repositories: { 'org/repo0': { image: 'fake/base:latest', checkout: '/s', steps: ['true'] } },
  });
  await h.close();
  const dbPath = join(h.home, 'data', 'autobuilder.db');
  fill(dbPath, count);
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
