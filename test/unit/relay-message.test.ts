/** The NOTIFY payloads of the shared live view: small, offsets only, and anything else ignored. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeRelayMessage, encodeRelayMessage } from '../../src/live/relay-message.js';

it('round-trips build and log notices, and they stay far below the 8000-byte NOTIFY limit', () => {
  const build = { v: 1, i: 'host-123-abcd', k: 'build', b: 42 } as const;
  const log = { v: 1, i: 'host-123-abcd', k: 'log', b: 42, f: 1024, t: 5120 } as const;
  for (const message of [build, log]) {
    const payload = encodeRelayMessage(message);
    assert.deepEqual(decodeRelayMessage(payload), message);
    assert.ok(Buffer.byteLength(payload) < 200);
  }
});

it('ignores what is not a notice of this version (a stray NOTIFY on the channel)', () => {
  for (const payload of [
    '',
    'hello',
    '[]',
    'null',
    JSON.stringify({ v: 2, i: 'x', k: 'build', b: 1 }),
    JSON.stringify({ v: 1, i: 'x', k: 'other', b: 1 }),
    JSON.stringify({ v: 1, i: 'x', k: 'build', b: -1 }),
    JSON.stringify({ v: 1, i: 'x', k: 'build', b: 1.5 }),
    JSON.stringify({ v: 1, i: '', k: 'build', b: 1 }),
    JSON.stringify({ v: 1, i: 'x', k: 'log', b: 1, f: 10, t: 5 }),
    JSON.stringify({ v: 1, i: 'x', k: 'log', b: 1, f: 0 }),
  ]) {
    assert.equal(decodeRelayMessage(payload), null, payload);
  }
});
