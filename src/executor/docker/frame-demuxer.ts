/**
 * The engine's multiplexed exec stream: frames of an 8-byte header (stream type, 3 zero bytes,
 * big-endian payload length) and the payload. Frames are handed on in the order they arrive, in
 * one call each, so stdout and stderr keep their order relative to each other (docker-modem's
 * demuxStream writes into two PassThroughs that emit on separate ticks and displaces them).
 * A frame may be split across chunks, and a chunk may hold many frames.
 */
import type { OutputStream } from '../executor.js';

const HEADER = 8;
const STREAMS: Record<number, OutputStream> = { 1: 'stdout', 2: 'stderr' };

export class FrameDemuxer {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (payload: Buffer, stream: OutputStream) => void) {}

  push(chunk: Buffer): void {
    let data = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (data.length >= HEADER) {
      const length = data.readUInt32BE(4);
      if (data.length < HEADER + length) break;
      const payload = data.subarray(HEADER, HEADER + length);
      // Type 0 (stdin) is never sent back; type 3 (system error) carries the engine's own message.
      const stream = STREAMS[data[0] ?? 1] ?? 'stderr';
      if (payload.length > 0) this.onFrame(payload, stream);
      data = data.subarray(HEADER + length);
    }
    // Copied so a held partial frame does not pin the whole chunk it came in.
    this.buffered = Buffer.from(data);
  }

  /** Bytes of a frame that never completed (the stream ended mid-frame). */
  get pending(): number {
    return this.buffered.length;
  }
}
