/**
 * The exec stream demuxer against the chunkings the socket really delivers (a 32 KB frame in
 * 4–8 KB chunks, a header cut anywhere): every payload byte once, in order, with its frame's
 * stream; and no copy of any payload, of a frame a chunk holds whole or of one split across chunks.
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

/**
 * Runs of bytes per stream: consecutive pieces of one stream joined. Frame boundaries are not
 * handed on (a split frame comes in pieces), the bytes and their order per stream are.
 */
function runs(pieces: { stream: string; bytes: Buffer }[]): { stream: string; hex: string }[] {
  const out: { stream: string; hex: string }[] = [];
  for (const { stream: kind, bytes } of pieces) {
    if (bytes.length === 0) continue;
    const last = out.at(-1);
    if (last?.stream === kind) last.hex += bytes.toString('hex');
    else out.push({ stream: kind, hex: bytes.toString('hex') });
  }
  return out;
}

const expected = runs(frames.map(([type, bytes]) => ({ stream: type === 1 ? 'stdout' : 'stderr', bytes })));

function demux(chunks: Buffer[]) {
  const seen: { stream: string; bytes: Buffer }[] = [];
  const demuxer = new FrameDemuxer((bytes, kind) => seen.push({ stream: kind, bytes }));
  for (const chunk of chunks) demuxer.push(chunk);
  return { seen, runs: runs(seen), pending: demuxer.pending };
}

describe('FrameDemuxer chunking', () => {
  it('cut in two at every byte offset: every byte once, in order, with its stream, nothing pending', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { runs: seen, pending } = demux([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(seen, expected, `cut at ${cut}`);
      assert.equal(pending, 0, `cut at ${cut}`);
    }
  });

  it('cut in three at every pair of offsets around the big frame and its header', () => {
    const big = stream.indexOf(frame(1, payload(9000, 4)).subarray(0, 16));
    for (let first = big - 4; first <= big + 12; first++)
      for (let second = first; second <= big + 9020; second += 97) {
        const { runs: seen, pending } = demux([
          stream.subarray(0, first),
          stream.subarray(first, second),
          stream.subarray(second),
        ]);
        assert.deepEqual(seen, expected, `cuts at ${first}, ${second}`);
        assert.equal(pending, 0);
      }
  });

  it('counts a cut header and a partial payload as pending', () => {
    const one = frame(1, payload(50, 9));
    assert.equal(demux([one.subarray(0, 5)]).pending, 5);
    assert.equal(demux([one.subarray(0, 3), one.subarray(3, 20)]).pending, 20);
    assert.equal(demux([one.subarray(0, 30), one.subarray(30)]).pending, 0);
  });

  it('hands on every payload as a view of its chunk: whole frames, and a split frame piece by piece', () => {
    // The 4 KB frame is cut over three chunks (the socket's 4–8 KB reads cut 32 KB frames so);
    // the second and third chunks then hold two whole frames. Joining a split frame's pieces (as
    // before) copied it into a new buffer: garbage as large as the log itself.
    const first = frame(1, payload(4096, 1));
    const chunks = [
      first.subarray(0, 1000),
      first.subarray(1000, 3000),
      Buffer.concat([first.subarray(3000), frame(2, payload(64, 2)), frame(1, payload(4096, 3))]),
    ];
    const { seen } = demux(chunks);
    assert.deepEqual(
      seen.map(({ stream: kind, bytes }) => [kind, bytes.length]),
      [
        ['stdout', 992],
        ['stdout', 2000],
        ['stdout', 1104],
        ['stderr', 64],
        ['stdout', 4096],
      ],
    );
    const from = [0, 1, 2, 2, 2];
    for (const [i, { bytes }] of seen.entries())
      assert.equal(bytes.buffer, chunks[from[i]!]!.buffer, `piece ${i} is a view of its chunk`);
    assert.equal(
      Buffer.concat(seen.slice(0, 3).map((s) => s.bytes)).toString('hex'),
      payload(4096, 1).toString('hex'),
    );
  });

  it('hands on the first piece of a frame before the rest of it has come', () => {
    const big = frame(2, payload(32 * 1024, 7));
    const { seen, pending } = demux([big.subarray(0, 4096)]);
    assert.deepEqual(
      seen.map(({ stream: kind, bytes }) => [kind, bytes.length]),
      [['stderr', 4088]],
    );
    assert.equal(pending, 4096);
  });
});
