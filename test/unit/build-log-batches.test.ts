/**
 * The build log writes in batches (≈100 ms or 64 KB) instead of once per line, is on disk when it
 * publishes a batch, and is all on disk after flush() and close(): the points a state change uses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildLog } from '../../src/live/build-log.js';
import { EventBus, type LogEvent } from '../../src/live/event-bus.js';
import { waitFor } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-logbatch-'));

/** A log with a bus listener that checks, as each batch is published, that it is in the file. */
function watched(name: string) {
  const path = join(dir, name);
  const bus = new EventBus();
  const events: LogEvent[] = [];
  const unsynced: string[] = [];
  bus.onLog(1, (event) => {
    events.push(event);
    const end = event.offset + Buffer.byteLength(event.text);
    if (statSync(path).size < end) unsynced.push(`${event.offset}..${end}`);
  });
  return { path, bus, events, unsynced, log: new BuildLog(path, 1, bus) };
}

const size = (path: string) => statSync(path).size;

describe('BuildLog batches', () => {
  it('holds short lines back and writes them in one batch, not one write per line', async () => {
    const { path, events, unsynced, log } = watched('short.log');
    for (let i = 0; i < 1000; i++) log.output(Buffer.from(`line ${i}\n`));
    assert.equal(size(path), 0, 'nothing written while the batch is young and small');
    await waitFor(() => events.length > 0, 5000);
    assert.equal(events.length, 1, 'one batch for 1000 lines');
    assert.equal(events[0]!.offset, 0);
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('');
    assert.equal(readFileSync(path, 'utf8'), expected);
    assert.deepEqual(unsynced, [], 'every batch was on disk when it was published');
    log.close();
  });

  it('writes as soon as 64 KB are pending, without waiting for the timer', () => {
    const { path, events, log } = watched('full.log');
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 700; i++) log.output(Buffer.from(line)); // 70,000 bytes
    assert.ok(size(path) >= 64 * 1024 - 100, `${size(path)} bytes on disk at once`);
    assert.ok(size(path) < 70_000, 'the rest waits for the next batch');
    log.close();
    assert.equal(size(path), 70_000);
    // Offsets follow each other without a gap or an overlap.
    let offset = 0;
    for (const event of events) {
      assert.equal(event.offset, offset);
      offset += Buffer.byteLength(event.text);
    }
    assert.equal(offset, 70_000);
  });

  it('flush() puts everything on disk now, ending a partial line, with stdout and stderr lines whole', () => {
    const { path, unsynced, log } = watched('flush.log');
    log.line('==> step 1/1: mixed');
    log.output(Buffer.from('out one\nout tw'), 'stdout');
    log.output(Buffer.from('err one\nerr tw'), 'stderr');
    log.output(Buffer.from('o\n'), 'stdout');
    log.output(Buffer.from('no newline'), 'stderr');
    log.flush();
    assert.equal(
      readFileSync(path, 'utf8'),
      '==> step 1/1: mixed\nout one\nerr one\nout two\nerr twno newline\n',
    );
    assert.deepEqual(unsynced, []);
    log.close();
  });

  it('a line much longer than a batch is written whole, in order with what came before', () => {
    const { path, log } = watched('long.log');
    log.output(Buffer.from('before\n'));
    const long = `${'y'.repeat(200_000)}\n`;
    log.output(Buffer.from(long));
    log.output(Buffer.from('after\n'));
    log.close();
    assert.equal(readFileSync(path, 'utf8'), `before\n${long}after\n`);
  });

  it('masks secrets on whole lines across batches', () => {
    const path = join(dir, 'masked.log');
    const log = new BuildLog(path, 1, new EventBus(), { masks: ['s3cr3t'] });
    log.output(Buffer.from('token=s3c'));
    log.output(Buffer.from('r3t here\n'));
    log.close();
    assert.equal(readFileSync(path, 'utf8'), 'token=*** here\n');
  });
});

describe('BuildLog batch timer (mocked clock)', () => {
  it('writes the first line after a quiet spell at once, then at most once per 100 ms', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { path, events, log } = watched('timer.log');
    log.output(Buffer.from('first\n'));
    assert.equal(size(path), 0, 'not inside the call that brought it');
    t.mock.timers.tick(0);
    assert.equal(readFileSync(path, 'utf8'), 'first\n', 'quiet before: written on the next turn');
    log.output(Buffer.from('second\n'));
    t.mock.timers.tick(60);
    log.output(Buffer.from('third\n'));
    t.mock.timers.tick(39);
    assert.equal(readFileSync(path, 'utf8'), 'first\n', 'held while the last write is younger than 100 ms');
    t.mock.timers.tick(1);
    assert.equal(
      readFileSync(path, 'utf8'),
      'first\nsecond\nthird\n',
      'one batch 100 ms after the last write',
    );
    assert.deepEqual(
      events.map((e) => e.text),
      ['first\n', 'second\nthird\n'],
    );
    log.close();
  });

  it('writes the first line of a step on the next turn after a flush and its marker line', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { path, events, log } = watched('after-flush.log');
    log.output(Buffer.from('last line of step 1\n'));
    t.mock.timers.tick(0);
    // Step 1 ends 10 ms later: the flush before its record, then step 2's marker and first line.
    t.mock.timers.tick(10);
    log.flush();
    log.line('==> step 2/2: echo hi');
    t.mock.timers.tick(0);
    log.output(Buffer.from('hi\n'));
    t.mock.timers.tick(0);
    assert.equal(
      readFileSync(path, 'utf8'),
      'last line of step 1\n==> step 2/2: echo hi\nhi\n',
      'not held for the 100 ms window of the write before the flush',
    );
    assert.deepEqual(
      events.map((e) => e.text),
      ['last line of step 1\n', '==> step 2/2: echo hi\n', 'hi\n'],
    );
    log.close();
  });

  it("a step's first line is not held back by the window of our own lines; each kind stays batched", (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { path, events, log } = watched('own-lines.log');
    log.line('==> source abc into /src');
    t.mock.timers.tick(0);
    t.mock.timers.tick(30);
    // Our own lines 30 ms apart: the marker waits for the window the line before it opened...
    log.line('==> step 1/1: echo first');
    t.mock.timers.tick(0);
    assert.equal(readFileSync(path, 'utf8'), '==> source abc into /src\n', 'our lines are batched too');
    // ...but the step's first output does not: it goes out on the next turn, with the marker.
    log.output(Buffer.from('first\n'));
    t.mock.timers.tick(0);
    assert.equal(readFileSync(path, 'utf8'), '==> source abc into /src\n==> step 1/1: echo first\nfirst\n');
    // Bulk output stays batched: the next lines wait for the window the first one opened.
    log.output(Buffer.from('second\n'));
    log.line('==> a line of ours in between');
    t.mock.timers.tick(99);
    assert.ok(!readFileSync(path, 'utf8').includes('second'), 'held inside the window');
    t.mock.timers.tick(1);
    assert.ok(readFileSync(path, 'utf8').endsWith('second\n==> a line of ours in between\n'));
    assert.equal(events.length, 3, 'three writes in all');
    log.close();
  });

  it('many lines of our own (pull progress, a boot console) make one write per 100 ms, not one per line', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { path, events, log } = watched('chatty.log');
    // 200 lines, one every 5 ms, each in a turn of its own.
    for (let i = 0; i < 200; i++) {
      log.line(`    layer${i} Downloading`);
      t.mock.timers.tick(5);
    }
    t.mock.timers.tick(100);
    assert.equal(readFileSync(path, 'utf8').split('\n').length - 1, 200);
    assert.ok(events.length <= 12, `${events.length} writes for 1 s of lines`);
    log.close();
  });
});
