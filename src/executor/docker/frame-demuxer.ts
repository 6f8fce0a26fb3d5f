/**
 * The engine's multiplexed exec stream: frames of an 8-byte header (stream type, 3 zero bytes,
 * big-endian payload length) and the payload. Frames are handed on in the order they arrive, in
 * one call each, so stdout and stderr keep their order relative to each other (docker-modem's
 * demuxStream writes into two PassThroughs that emit on separate ticks and displaces them).
 * A frame may be split across chunks, and a chunk may hold many frames.
 *
 * Per chunk it costs no copy when the chunk holds whole frames (the payloads are views of it),
 * and one copy of a frame that came in pieces, made when its last piece arrives. The engine
 * writes 4 KB and 32 KB frames and the socket delivers them in ~4–8 KB chunks: joining the held
 * bytes with every new chunk, as this did before, copied each byte of a 32 KB frame several times
 * and was most of the service's CPU on a 200 MB log (docs/benchmarks.md, "Log wall").
 */
import type { OutputStream } from '../executor.js';

const HEADER = 8;
const STREAMS: Record<number, OutputStream> = { 1: 'stdout', 2: 'stderr' };

export class FrameDemuxer {
  /** The header being read, when it came split across chunks. */
  private readonly header = Buffer.alloc(HEADER);
  /** Header bytes read of the current frame; HEADER once its payload is being read. */
  private headerBytes = 0;
  private length = 0;
  private stream: OutputStream = 'stdout';
  /** Pieces of the current frame's payload from earlier chunks (views, not copies). */
  private parts: Buffer[] = [];
  private partBytes = 0;

  constructor(private readonly onFrame: (payload: Buffer, stream: OutputStream) => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.headerBytes < HEADER) {
        if (this.headerBytes === 0 && chunk.length - at >= HEADER) {
          this.startFrame(chunk, at);
          at += HEADER;
        } else {
          const take = Math.min(HEADER - this.headerBytes, chunk.length - at);
          chunk.copy(this.header, this.headerBytes, at, at + take);
          this.headerBytes += take;
          at += take;
          if (this.headerBytes < HEADER) return;
          this.startFrame(this.header, 0);
        }
      }
      const missing = this.length - this.partBytes;
      const take = Math.min(missing, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      at += take;
      if (take < missing) {
        // A view pins its chunk (≤ 64 KB) only until the frame completes, a few chunks later.
        if (take > 0) this.parts.push(piece);
        this.partBytes += take;
        return;
      }
      const payload = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.headerBytes = 0;
      this.parts = [];
      this.partBytes = 0;
      if (payload.length > 0) this.onFrame(payload, this.stream);
    }
  }

  private startFrame(bytes: Buffer, at: number): void {
    this.headerBytes = HEADER;
    this.length = bytes.readUInt32BE(at + 4);
    // Type 0 (stdin) is never sent back; type 3 (system error) carries the engine's own message.
    this.stream = STREAMS[bytes[at] ?? 1] ?? 'stderr';
  }

  /** Bytes of a frame that never completed (the stream ended mid-frame). */
  get pending(): number {
    return this.headerBytes + this.partBytes;
  }
}
