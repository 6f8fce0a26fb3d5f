/**
 * The build log against output cut anywhere: a line split across chunks is written whole, in
 * order with the other stream's lines, and dated by the chunk that completed it; lines that a
 * chunk completes are dated by that chunk.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildLog } from '../../src/live/build-log.js';
import { EventBus } from '../../src/live/event-bus.js';
import { readLineTimes } from '../../src/live/log-times.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-logchunks-'));

const lines = ['a\n', 'second line\n', '\n', 'the fourth, a bit longer than the others\n', 'e\n', 'f'];
const text = lines.join('');

/** The time of line `n` from change points: the last record at or before it. */
function timeOf(times: [number, number][], n: number): number | undefined {
  return times.filter(([line]) => line <= n).at(-1)?.[1];
}

describe('BuildLog chunking', () => {
  it('cut in two at every byte offset: the same bytes, each line dated by the chunk that ended it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    for (let cut = 0; cut <= text.length; cut++) {
      const path = join(dir, `two-${cut}.log`);
      const log = new BuildLog(path, 1, new EventBus());
      log.line('==> step');
      log.output(Buffer.from(text.slice(0, cut)));
      t.mock.timers.tick(10);
      const second = Date.now();
      log.output(Buffer.from(text.slice(cut)));
      log.close();
      assert.equal(readFileSync(path, 'utf8'), `==> step\n${text}\n`, `cut at ${cut}`);
      const { times } = await readLineTimes(path, 1, lines.length + 1);
      let end = 0;
      for (const [index, line] of lines.entries()) {
        end += line.length;
        // Line 1 is the marker; output line i is line i + 2. The unended last line is ended at close.
        const expected = end <= cut && line.endsWith('\n') ? second - 10 : second;
        assert.equal(timeOf(times, index + 2), expected, `cut at ${cut}, line ${index + 2}`);
      }
    }
  });

  it("keeps each stream's lines whole and in arrival order when both are cut mid-line", () => {
    for (let cut = 1; cut < text.length; cut++) {
      const path = join(dir, `streams-${cut}.log`);
      const log = new BuildLog(path, 1, new EventBus());
      log.output(Buffer.from(text.slice(0, cut)), 'stdout');
      log.output(Buffer.from('err one\nerr tw'), 'stderr');
      log.output(Buffer.from(text.slice(cut)), 'stdout');
      log.output(Buffer.from('o\n'), 'stderr');
      log.close();
      const written = readFileSync(path, 'utf8').split('\n');
      assert.deepEqual(
        written.filter((l) => l.startsWith('err')),
        ['err one', 'err two'],
        `cut at ${cut}`,
      );
      assert.deepEqual(
        written.filter((l) => !l.startsWith('err')),
        [...text.split('\n'), ''],
        `cut at ${cut}`,
      );
    }
  });

  it('a partial line that grows past 64 KB without a newline is written in pieces, the bytes unchanged', () => {
    const path = join(dir, 'long.log');
    const log = new BuildLog(path, 1, new EventBus());
    const piece = 'x'.repeat(10_000);
    for (let i = 0; i < 10; i++) log.output(Buffer.from(piece));
    log.output(Buffer.from('\nafter\n'));
    log.close();
    assert.equal(readFileSync(path, 'utf8'), `${piece.repeat(10)}\nafter\n`);
  });
});
