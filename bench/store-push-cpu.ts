/**
 * A probe, not one of `npm run bench`'s figures: the CPU a push costs in the Store alone
 * (`SqliteStore.createBuild`, groups of 16 as the webhook's group commit makes them, the webhook
 * benchmark's pushes: 20 commits of ~300 characters, 50 branches, each push superseding its
 * branch's queued build). Whole process and event loop, per push, median of 7 rounds of 1600.
 * For comparing two trees (run it in each, interleaved): the HTTP benchmark's swing on this
 * machine (±10 %) hides a change of a few percent in the store. `npx tsx bench/store-push-cpu.ts`
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { benchPush } from '../test/helpers/bench-push.js';

const GROUP = 16;
const GROUPS_PER_ROUND = 100;
const ROUNDS = 7;

/** CPU ticks (1/100 s) of the event loop's thread: the main task of this process. */
function loopTicks(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const dir = mkdtempSync(join(tmpdir(), 'ab-store-push-'));
const store = await SqliteStore.open(join(dir, 'autobuilder.db'));
let next = 0;
const push = () => store.createBuild(benchPush(next++));
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
