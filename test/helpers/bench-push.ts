/**
 * The webhook benchmark's pushes as the Store receives them (bench/http-load.ts sends them over
 * HTTP): 20 commits of ~300 characters (~8.5 KB of JSON), 50 branches, each push a new ref (no
 * replay lookup) superseding its branch's queued build. For bench/store-push-cpu.ts and the
 * tests that need pushes of that weight.
 */
import { createHash } from 'node:crypto';
import type { NewBuild, PushedCommit } from '../../src/domain/build.js';

export const BENCH_REPOSITORY = 'bench/os';

export const benchCommits: PushedCommit[] = Array.from({ length: 20 }, (_, k) => ({
  sha: 'b'.repeat(40),
  message: `commit ${k} ${'m'.repeat(300)}`,
  author: 'Bench',
  url: 'https://github.com/bench/os/commit/x',
}));

/** The `i`-th push, to branch `b${i % 50}` unless `branch` is given. */
export function benchPush(i: number, branch = `b${i % 50}`): NewBuild {
  return {
    project: 'bench',
    repository: BENCH_REPOSITORY,
    refType: 'branch',
    branch,
    commit: (i + 1).toString(16).padStart(40, '0'),
    kind: 'full',
    pusher: 'bench',
    deliveryId: `d-${i}`,
    commits: benchCommits,
    // A new ref each time, as the webhook benchmark's pushes say: no replay lookup.
    push: { before: '0'.repeat(40), bodySha256: createHash('sha256').update(String(i)).digest('hex') },
  };
}
