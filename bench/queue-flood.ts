/**
 * A flooded queue: webhook latency (signed 8 KB pushes, concurrency 1), and the size and time of
 * /build/status and /monitor, with 5000 builds queued behind a running one, against the same with
 * none queued, in the same run. The scheduler runs (it plans on every push), nothing can start.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { removeHome, startHarness, waitFor, type Harness } from '../test/helpers/harness.js';
import { fail, figure, percentile } from './report.js';
import { runLoad } from './run-load.js';

const QUEUED = Number(process.env.BENCH_QUEUED ?? 5000);
const REQUESTS = 300;
const SECRET = 'bench-secret';
const RULE = { image: 'fake/base:latest', checkout: '/s', steps: ['sleep 3600'], network: 'none' };
const repositories = { 'bench/os': RULE, 'flood/x': RULE };

function fill(path: string, count: number): void {
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, pusher, steps, attempt, created_at)
     VALUES ('p', 'flood/x', 'branch', ?, ?, 'full', 'queued', 'someone', '[]', 1, ?)`,
  );
  // Each build's commit list in its own table (migration 0011).
  const insertCommits = db.prepare('INSERT INTO build_commits (build_id, commits) VALUES (?, ?)');
  const commits = JSON.stringify([
    { sha: 'a'.repeat(40), message: 'a commit message of ordinary length', author: 'A', url: 'https://x/c' },
  ]);
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const { lastInsertRowid } = insert.run(
        `flood-${i}`,
        i.toString(16).padStart(40, '0'),
        new Date().toISOString(),
      );
      insertCommits.run(lastInsertRowid, commits);
    }
  })();
  db.close();
}

async function timed(url: string, times: number): Promise<{ p50: number; bytes: number }> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i += 1) {
    const t0 = performance.now();
    const response = await fetch(url);
    bytes = (await response.arrayBuffer()).byteLength;
    if (response.status !== 200) fail(`${url} answered ${response.status}`);
    samples.push(performance.now() - t0);
  }
  return { p50: percentile(samples, 50), bytes };
}

async function measure(count: number) {
  const extra = { max_queued: 100_000, max_queued_per_repository: 100_000 };
  const first = await startHarness({ executor: new FakeExecutor(), repositories, extra });
  await first.close();
  fill(join(first.home, 'data', 'autobuilder.db'), count + 1);
  let h: Harness | undefined;
  try {
    h = await startHarness({
      ...{ executor: new FakeExecutor(), repositories, extra, token: SECRET },
      ...{ home: first.home, gitRoot: first.gitRoot },
    });
    const url = await h.listen();
    // One build runs (sleep 3600) and fills the one slot: the rest stay queued.
    await waitFor(async () => (await h!.service.store.listRunning()).length === 1);
    const status = await timed(`${url}/build/status`, 20);
    const monitor = await timed(`${url}/monitor`, 20);
    const hooks = await runLoad({
      url: `${url}/build/bench/hook`,
      concurrency: 1,
      requests: REQUESTS,
      offset: 0,
      secret: SECRET,
    });
    if (hooks.errors > 0) fail(`${hooks.errors} webhooks failed`);
    return { status, monitor, hooks };
  } finally {
    await h?.close();
    removeHome(h ?? first);
  }
}

export async function benchQueueFlood(): Promise<string[]> {
  const empty = await measure(0);
  const full = await measure(QUEUED);
  const with_ = `with ${QUEUED} queued`;
  return [
    figure(`webhook p50 ${with_}`, full.hooks.p50, 'ms', empty.hooks.p50),
    figure(`webhook p99 ${with_}`, full.hooks.p99, 'ms', empty.hooks.p99),
    figure(`/build/status p50 ${with_}`, full.status.p50, 'ms', empty.status.p50),
    figure(`/build/status size ${with_}`, full.status.bytes / 1024, 'KB', empty.status.bytes / 1024),
    figure(`/monitor p50 ${with_}`, full.monitor.p50, 'ms', empty.monitor.p50),
    figure(`/monitor size ${with_}`, full.monitor.bytes / 1024, 'KB', empty.monitor.bytes / 1024),
  ];
}
