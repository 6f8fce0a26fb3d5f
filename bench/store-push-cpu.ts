/**
 * A probe, not one of `npm run bench`'s figures: the CPU a push costs in the Store alone
 * (`SqliteStore.createBuild`, groups of 16 as the webhook's group commit makes them, the webhook
 * benchmark's pushes: 20 commits of ~300 characters, 50 branches, each push superseding its
 * branch's queued build). Whole process and event loop, per push, median of 7 rounds of 1600.
 * For comparing two trees (run it in each, interleaved): the HTTP benchmark's swing on this
 * machine (±10 %) hides a change of a few percent in the store. `npx tsx bench/store-push-cpu.ts`
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewBuild, PushedCommit } from '../src/domain/build.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const GROUP = 16;
const GROUPS_PER_ROUND = 100;
const ROUNDS = 7;

/** CPU ticks (1/100 s) of the event loop's thread: the main task of this process. */
function loopTicks(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const commits: PushedCommit[] = Array.from({ length: 20 }, (_, k) => ({
  sha: 'b'.repeat(40),
  message: `commit ${k} ${'m'.repeat(300)}`,
  author: 'Bench',
  url: 'https://github.com/bench/os/commit/x',
}));

const dir = mkdtempSync(join(tmpdir(), 'ab-store-push-'));
const store = await SqliteStore.open(join(dir, 'autobuilder.db'));
let next = 0;
const push = () => {
  const i = next++;
  const build: NewBuild = {
    project: 'bench',
    repository: 'bench/os',
    refType: 'branch',
    branch: `b${i % 50}`,
    commit: (i + 1).toString(16).padStart(40, '0'),
    kind: 'full',
    pusher: 'bench',
    deliveryId: `d-${i}`,
    commits,
    // A new ref each time, as the webhook benchmark's pushes say: no replay lookup.
    push: { before: '0'.repeat(40), bodySha256: createHash('sha256').update(String(i)).digest('hex') },
  };
  return store.createBuild(build);
};
const group = () => Promise.all(Array.from({ length: GROUP }, push));

for (let k = 0; k < GROUPS_PER_ROUND; k += 1) await group(); // warm-up
const total: number[] = [];
const loop: number[] = [];
const pushes = GROUP * GROUPS_PER_ROUND;
for (let round = 0; round < ROUNDS; round += 1) {
  const cpu0 = process.cpuUsage();
  const ticks0 = loopTicks();
  for (let k = 0; k < GROUPS_PER_ROUND; k += 1) await group();
  const cpu = process.cpuUsage(cpu0);
  total.push((cpu.user + cpu.system) / pushes);
  loop.push(((loopTicks() - ticks0) * 10_000) / pushes);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const show = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
console.log(`store CPU per push: ${median(total).toFixed(0)} µs (rounds ${show(total)})`);
console.log(`event loop CPU per push: ${median(loop).toFixed(0)} µs (rounds ${show(loop)})`);
