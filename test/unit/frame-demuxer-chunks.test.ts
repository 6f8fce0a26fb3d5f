/**
 * The exec stream demuxer against the chunkings the socket really delivers (a 32 KB frame in
 * 4–8 KB chunks, a header cut anywhere): every frame once, whole, in order; and no copy of the
 * frames that a chunk holds whole, whatever came before them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDemuxer } from '../../src/executor/docker/frame-demuxer.js';

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Payloads of distinct bytes, so a frame put together wrong cannot compare equal. */
const payload = (length: number, seed: number) =>
  Buffer.from(Array.from({ length }, (_, i) => (i * 7 + seed) % 251));

/** stdout, stderr, an empty frame (never handed on), the engine's own error (type 3), a big one. */
const frames: [number, Buffer][] = [
  [1, payload(100, 1)],
  [2, payload(5, 2)],
  [1, Buffer.alloc(0)],
  [3, payload(40, 3)],
  [1, payload(9000, 4)],
  [2, payload(1, 5)],
  [1, payload(300, 6)],
];
const stream = Buffer.concat(frames.map(([type, bytes]) => frame(type, bytes)));
const expected = frames
  .filter(([, bytes]) => bytes.length > 0)
  .map(([type, bytes]) => ({ stream: type === 1 ? 'stdout' : 'stderr', hex: bytes.toString('hex') }));

function demux(chunks: Buffer[]) {
  const seen: { stream: string; hex: string; payload: Buffer }[] = [];
  const demuxer = new FrameDemuxer((bytes, kind) =>
    seen.push({ stream: kind, hex: bytes.toString('hex'), payload: bytes }),
  );
  for (const chunk of chunks) demuxer.push(chunk);
  return { seen, pending: demuxer.pending };
}

describe('FrameDemuxer chunking', () => {
  it('cut in two at every byte offset: every frame once, whole (one call), in order, nothing pending', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { seen, pending } = demux([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(
        seen.map(({ stream: kind, hex }) => ({ stream: kind, hex })),
        expected,
        `cut at ${cut}`,
      );
      assert.equal(pending, 0, `cut at ${cut}`);
    }
  });

  it('cut in three at every pair of offsets around the big frame and its header', () => {
    const big = stream.indexOf(frame(1, payload(9000, 4)).subarray(0, 16));
    for (let first = big - 4; first <= big + 12; first++)
      for (let second = first; second <= big + 9020; second += 97) {
        const { seen, pending } = demux([
          stream.subarray(0, first),
          stream.subarray(first, second),
          stream.subarray(second),
        ]);
        assert.deepEqual(
          seen.map(({ stream: kind, hex }) => ({ stream: kind, hex })),
          expected,
          `cuts at ${first}, ${second}`,
        );
        assert.equal(pending, 0);
      }
  });

  it('counts a cut header and a partial payload as pending', () => {
    const one = frame(1, payload(50, 9));
    assert.equal(demux([one.subarray(0, 5)]).pending, 5);
    assert.equal(demux([one.subarray(0, 3), one.subarray(3, 20)]).pending, 20);
    assert.equal(demux([one.subarray(0, 30), one.subarray(30)]).pending, 0);
  });

  it('hands on the frames a chunk holds whole as views of it, also after a frame that began earlier', () => {
    // The second chunk starts with the tail of the first frame and then holds two whole frames:
    // joining held bytes with the whole chunk (as before) would make those two copies.
    const first = frame(1, payload(4096, 1));
    const chunk2 = Buffer.concat([
      first.subarray(3000),
      frame(2, payload(64, 2)),
      frame(1, payload(4096, 3)),
    ]);
    const { seen } = demux([first.subarray(0, 3000), chunk2]);
    assert.equal(seen.length, 3);
    assert.equal(seen[0]!.hex, payload(4096, 1).toString('hex'));
    for (const whole of seen.slice(1)) {
      assert.equal(whole.payload.buffer, chunk2.buffer, 'a view of the chunk');
      assert.ok(whole.payload.byteOffset >= chunk2.byteOffset + 1104);
    }
  });
});
