/**
 * Scale of state: /build/history (first page) and /build/status with 100k finished builds in the
 * store, against the same requests on a store of 100 builds, in the same run.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { figure, percentile } from './report.js';

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
  const timings: Record<string, number[]> = { history: [], status: [] };
  try {
    for (let i = 0; i < REQUESTS; i += 1) {
      for (const [name, path] of [
        ['history', '/build/history'],
        ['status', '/build/status'],
      ] as const) {
        const t = performance.now();
        const response = await fetch(`${url}${path}`);
        await response.arrayBuffer();
        timings[name]!.push(performance.now() - t);
      }
    }
    return { timings, bytes: statSync(dbPath).size };
  } finally {
    await again.close();
    removeHome(again);
  }
}

export async function benchScaleOfState(): Promise<string[]> {
  const small = await measure(100);
  const big = await measure(BIG);
  return [
    figure(
      `history p50 with ${BIG} builds`,
      percentile(big.timings.history!, 50),
      'ms',
      percentile(small.timings.history!, 50),
    ),
    figure(
      `history p99 with ${BIG} builds`,
      percentile(big.timings.history!, 99),
      'ms',
      percentile(small.timings.history!, 99),
    ),
    figure(
      `status p99 with ${BIG} builds`,
      percentile(big.timings.status!, 99),
      'ms',
      percentile(small.timings.status!, 99),
    ),
    figure(`database size with ${BIG} builds`, big.bytes / 1024 / 1024, 'MB', small.bytes / 1024 / 1024),
  ];
}
