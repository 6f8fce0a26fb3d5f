/**
 * Reading one step's output stream (an exec's, or the attach stream of a container whose process
 * is the step) to its end: frames in the order the engine sent them, a cancel that kills at once,
 * and the exit code asked for only once the stream has ended.
 */
import type { Duplex } from 'node:stream';
import type { RunOptions } from '../executor.js';
import { FrameDemuxer } from './frame-demuxer.js';

/**
 * How long a step may still show as running after its output stream ended: the engine records
 * the exit code around the time it closes the streams, this only absorbs a slow engine.
 */
export const STREAM_END_GRACE_MS = 2000;

/** Prepended to every step: its stderr goes to the same pipe as its stdout. */
export const MERGE_STDERR = 'exec 2>&1\n';

/**
 * Resolves when `stream` has ended (or was destroyed by a cancel); throws what `onOutput` threw.
 * `kill` is called once when `options.signal` aborts (also when it was aborted already).
 */
export async function readStepStream(stream: Duplex, options: RunOptions, kill: () => void): Promise<void> {
  let outputError: unknown = null;
  const demuxer = new FrameDemuxer((payload, kind) => {
    try {
      options.onOutput(payload, kind);
    } catch (error) {
      // A throwing consumer ends this step with an error; it must not escape a stream event.
      outputError ??= error;
      stream.destroy();
    }
  });
  const onAbort = () => {
    kill();
    stream.destroy();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while the stream was being opened: the listener above will never fire.
  if (options.signal?.aborted) onAbort();
  try {
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (outputError && !options.signal?.aborted) throw outputError;
}

/**
 * The exit code once the output stream has ended, from `inspect` (one engine call, with its own
 * deadline). A stream that ends while the step still runs was cut (engine restarted, connection
 * dropped): that is an engine error, not the step's.
 */
export async function exitCodeAfterStream(
  inspect: () => Promise<{ running: boolean; exitCode: number | undefined }>,
): Promise<number> {
  const deadline = Date.now() + STREAM_END_GRACE_MS;
  for (;;) {
    const state = await inspect();
    if (!state.running && typeof state.exitCode === 'number') return state.exitCode;
    if (Date.now() >= deadline) {
      throw new Error('the output stream of the step ended while the step was still running');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
