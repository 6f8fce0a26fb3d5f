/**
 * The engine's multiplexed exec stream: frames of an 8-byte header (stream type, 3 zero bytes,
 * big-endian payload length) and the payload. Payload bytes are handed on in the order they
 * arrive, each with the stream of its frame, so stdout and stderr keep their order relative to
 * each other (docker-modem's demuxStream writes into two PassThroughs that emit on separate ticks
 * and displaces them). A frame may be split across chunks, and a chunk may hold many frames.
 *
 * A frame split across chunks is handed on piece by piece, as its chunks come: every payload is
 * a view of the socket's chunk, never a copy. Consumers get no frame boundaries (BuildLog holds a
 * partial line per stream until its newline). The engine writes 4 KB and 32 KB frames and the
 * socket delivers them in ~4–8 KB chunks: joining a frame's pieces cost a copy of nearly every
 * byte, and a 32 KB buffer per frame to collect; each chunk is already a buffer the garbage
 * collector must find, and those copies doubled what it had to find between two collections
 * (docs/benchmarks.md, "Log pipeline: memory").
 */
import type { OutputStream } from '../executor.js';

const HEADER = 8;
const STREAMS: Record<number, OutputStream> = { 1: 'stdout', 2: 'stderr' };

export class FrameDemuxer {
  /** The header being read, when it came split across chunks. */
  private readonly header = Buffer.alloc(HEADER);
  /** Header bytes read of the current frame; HEADER once its payload is being read. */
  private headerBytes = 0;
  /** Payload bytes of the current frame not read yet. */
  private remaining = 0;
  /** Payload bytes of the current frame handed on so far. */
  private received = 0;
  private stream: OutputStream = 'stdout';

  constructor(private readonly onPayload: (payload: Buffer, stream: OutputStream) => void) {}

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
      const take = Math.min(this.remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      this.received += take;
      if (this.remaining === 0) {
        this.headerBytes = 0;
        this.received = 0;
      }
      if (take > 0) this.onPayload(piece, this.stream);
    }
  }

  private startFrame(bytes: Buffer, at: number): void {
    this.headerBytes = HEADER;
    this.remaining = bytes.readUInt32BE(at + 4);
    this.received = 0;
    // Type 0 (stdin) is never sent back; type 3 (system error) carries the engine's own message.
    this.stream = STREAMS[bytes[at] ?? 1] ?? 'stderr';
  }

  /** Bytes of a frame that never completed (the stream ended mid-frame). */
  get pending(): number {
    return this.headerBytes + this.received;
  }
}
