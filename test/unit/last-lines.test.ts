/** The monitor's tails: the last lines of a log, bounded whatever a build prints. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LastLines } from '../../src/live/last-lines.js';

describe('last lines of a log', () => {
  it('keeps the last lines across chunks cut anywhere, with a partial line last', () => {
    const tail = new LastLines(3);
    for (const chunk of ['a\nb', '\nc\nd\ne', 'e\nf']) tail.push(chunk);
    assert.equal(tail.text, 'c\nd\nee\nf', 'three whole lines and the one being written');
  });

  it('stays bounded when a build prints one endless line or a flood of lines', () => {
    const tail = new LastLines(15, 500);
    for (let i = 0; i < 100; i++) tail.push('x'.repeat(100_000));
    assert.equal(tail.text.length, 500, 'a partial line is cut too');
    tail.push(`\n${Array.from({ length: 10_000 }, (_, i) => `${i} ${'y'.repeat(1000)}`).join('\n')}\n`);
    const lines = tail.text.split('\n');
    assert.equal(lines.length, 15);
    assert.ok(lines.every((line) => line.length <= 500));
    assert.ok(lines.at(-1)!.startsWith('9999 '));
  });
});
