/**
 * Line times beside the log: the writer notes when each line arrived without touching the log's
 * bytes, and the reader returns the records that date a range of lines.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { timesPath } from '../../src/domain/log-files.js';
import { BuildLog } from '../../src/live/build-log.js';
import { EventBus } from '../../src/live/event-bus.js';
import { readLineTimes } from '../../src/live/log-times.js';
import { waitFor } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-logtimes-'));

/** The time of line `n` from change points: the last record at or before it. */
function timeOf(times: [number, number][], n: number): number | undefined {
  return times.filter(([line]) => line <= n).at(-1)?.[1];
}

describe('line times', () => {
  it('dates each line by its arrival, leaves the log as printed, and a later line is later', async () => {
    const path = join(dir, 'build-1.log');
    const log = new BuildLog(path, 1, new EventBus());
    const before = Date.now();
    log.line('==> step 1/1: print, wait, print');
    log.output(Buffer.from('first\nsecond\n'));
    const firstAt = Date.now();
    // A later millisecond, awaited as a condition rather than slept for.
    await waitFor(() => Date.now() > firstAt + 20, 5000);
    log.output(Buffer.from('third\n'), 'stderr');
    log.close();
    const after = Date.now();
    assert.equal(
      readFileSync(path, 'utf8'),
      '==> step 1/1: print, wait, print\nfirst\nsecond\nthird\n',
      'the log holds only what was printed',
    );
    const { recorded, times } = await readLineTimes(path, 1, 10);
    assert.equal(recorded, true);
    const [t1, t2, t3, t4] = [1, 2, 3, 4].map((n) => timeOf(times, n) ?? Number.NaN) as [
      number,
      number,
      number,
      number,
    ];
    assert.ok(t1 >= before && t4 <= after, `${times.join(' ')} within ${before}..${after}`);
    assert.ok(t2 <= firstAt && t3 === t2, 'lines that came in one chunk share its time');
    assert.ok(t4 > firstAt + 20, 'the line printed after the wait is dated after it');
    assert.ok(t1 <= t2 && t2 < t4);
  });

  it('a fast log costs a record per millisecond at most, not one per line', () => {
    const path = join(dir, 'build-2.log');
    const log = new BuildLog(path, 2, new EventBus());
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) log.output(Buffer.from(`line ${i}\n`));
    log.close();
    const elapsed = Date.now() - started;
    const records = readFileSync(timesPath(path), 'utf8').trimEnd().split('\n').length;
    assert.ok(records <= elapsed + 1, `${records} records for ${elapsed} ms`);
  });

  it('reads a range: the record covering its first line, then those inside it', async () => {
    const path = join(dir, 'build-3.log');
    writeFileSync(path, '');
    writeFileSync(timesPath(path), '1 1000\n5 2000\n9 3000\n20 4000\n');
    assert.deepEqual((await readLineTimes(path, 6, 12)).times, [
      [5, 2000],
      [9, 3000],
    ]);
    assert.deepEqual((await readLineTimes(path, 1, 4)).times, [[1, 1000]]);
    assert.deepEqual((await readLineTimes(path, 25, 30)).times, [[20, 4000]]);
    // A record torn by a crash (kill -9 mid-write) is skipped, the ones before it stand.
    appendFileSync(timesPath(path), '31 50');
    assert.deepEqual((await readLineTimes(path, 30, 40)).times, [[20, 4000]]);
  });

  it('a log from before times were recorded says so', async () => {
    const path = join(dir, 'build-4.log');
    writeFileSync(path, 'old\n');
    assert.deepEqual(await readLineTimes(path, 1, 10), { recorded: false, times: [] });
    assert.equal(existsSync(timesPath(path)), false);
  });
});
