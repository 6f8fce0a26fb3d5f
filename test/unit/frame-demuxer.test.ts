/** The exec stream demuxer: payloads in arrival order with their stream, whatever the chunking. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDemuxer } from '../../src/executor/docker/frame-demuxer.js';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** 600 alternating stdout/stderr frames, one line each, as the engine multiplexes them. */
const lines = Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? `out-${i}\n` : `err-${i}\n`));
const stream = Buffer.concat(lines.map((line, i) => frame(i % 2 === 0 ? 1 : 2, line)));

/**
 * What was handed on, pieces of one frame joined: the test frames alternate streams, so a frame's
 * pieces are the consecutive calls with the same stream.
 */
function demux(chunks: Buffer[]) {
  const seen: { text: string; stream: string }[] = [];
  const demuxer = new FrameDemuxer((payload, kind) => {
    const last = seen.at(-1);
    if (last?.stream === kind) last.text += payload.toString();
    else seen.push({ text: payload.toString(), stream: kind });
  });
  for (const chunk of chunks) demuxer.push(chunk);
  return { seen, pending: demuxer.pending };
}

describe('FrameDemuxer', () => {
  it('hands on frames in arrival order, with their stream, from one chunk', () => {
    const { seen, pending } = demux([stream]);
    assert.deepEqual(
      seen.map((s) => s.text),
      lines,
    );
    assert.ok(seen.every((s, i) => s.stream === (i % 2 === 0 ? 'stdout' : 'stderr')));
    assert.equal(pending, 0);
  });

  it('hands on frames split anywhere across chunks, headers included, in order', () => {
    for (const size of [1, 3, 7, 8, 9, 13, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      assert.deepEqual(
        demux(chunks).seen.map((s) => s.text),
        lines,
        `chunks of ${size} bytes`,
      );
    }
  });

  it('counts an incomplete frame as pending (what came of it is handed on) and skips empty ones', () => {
    const { seen, pending } = demux([frame(1, ''), frame(1, 'a\n'), frame(2, 'partial').subarray(0, 10)]);
    assert.deepEqual(seen, [
      { text: 'a\n', stream: 'stdout' },
      { text: 'pa', stream: 'stderr' },
    ]);
    assert.equal(pending, 10);
  });
});
