/**
 * Timeout and cancel must end a build in every phase, also in one that does not take a signal
 * (a git fetch, an image pull, a copy that blocks): the build stops waiting at once, and what
 * the phase leaves behind is cleaned up when it settles (see runPipeline's `finally`).
 */
import { BuildFailure } from './build-failure.js';

/** Ends the build here when it was cancelled or timed out meanwhile. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new BuildFailure('aborted');
}

export function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new BuildFailure('aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(new BuildFailure('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
