/** formatElapsed: the one elapsed-time format of the server's pages and the browser's live updates. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatElapsed, formatTook } from '../../src/domain/duration.js';

const cases: [number, string, string][] = [
  // ms, elapsed, took
  [0, '0s', '0.0s'],
  [4_200, '4s', '4.2s'],
  [59_400, '59s', '59.4s'],
  [187_000, '3m07s', '3m07s'],
  [4_200_000, '1h10m', '1h10m'], // the browser's own copy showed "70m00s"
];
for (const [ms, elapsed, took] of cases) {
  it(`${ms} ms is ${elapsed} on the monitor, ${took} in the service log`, () => {
    assert.equal(formatElapsed(ms), elapsed);
    assert.equal(formatTook(ms), took);
  });
}
