/**
 * young-generation.ts in a fresh node process of its own (V8's flags are per process): while held,
 * an allocation pattern that keeps objects alive across collections does not grow the young
 * generation, also after a worker thread started (V8 resets the growth factor for each isolate it
 * makes); once released, the same pattern grows it as V8 does by default (to its 32 MB). And the
 * real `autobuilder serve` listens with it small (it reached 32 MB while starting before).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { ServiceProcess } from '../helpers/service-process.js';

const MODULE = new URL('../../src/young-generation.ts', import.meta.url).href;

const SCRIPT = `
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { holdYoungGeneration, releaseYoungGeneration } from ${JSON.stringify(MODULE)};
const MB = 1024 * 1024;
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / MB;
// 3 million small objects, 20 000 of them alive at any time: they survive young collections.
function churn() {
  let live = [];
  for (let i = 0; i < 3e6; i++) {
    live.push({ i, s: 'x' + i });
    if (live.length > 20000) live = [];
  }
}
holdYoungGeneration();
churn();
const held = young();
const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
await new Promise((resolve) => worker.once('online', resolve));
churn();
const afterWorker = young();
await worker.terminate();
releaseYoungGeneration();
churn();
process.stdout.write(JSON.stringify({ held, afterWorker, released: young() }));
`;

describe('young generation hold', () => {
  it('keeps the young generation small while held, across a worker start, and lets it grow once released', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      encoding: 'utf8',
    });
    const { held, afterWorker, released } = JSON.parse(out) as {
      held: number;
      afterWorker: number;
      released: number;
    };
    assert.ok(held <= 8, `held: ${held} MB`);
    assert.ok(afterWorker <= 8, `after a worker thread started: ${afterWorker} MB`);
    assert.ok(released >= 16, `released: ${released} MB`);
  });

  const service = new ServiceProcess('ab-young-');
  after(() => service.close(true));

  it('the service listens with its young generation still small (its size in /metrics)', async () => {
    service.configure({ repositories: {} });
    await service.start();
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('autobuilder_nodejs_heap_space_size_total_bytes{space="new"}'));
    assert.ok(line, 'the new space size is in /metrics');
    const mb = Number(line.split(' ').at(-1)) / (1024 * 1024);
    // 4 MB here from dist/, 8 MB through tsx; V8's maximum, which it reached before, is 32 MB.
    assert.ok(mb <= 16, `young generation after start: ${mb} MB`);
  });
});
