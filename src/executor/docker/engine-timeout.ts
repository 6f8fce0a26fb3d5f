/**
 * Every Engine API call has a deadline: a wedged engine (or socket) must fail the build with an
 * engine error, never hold it, its cancel and the service's shutdown forever. Exec output streams
 * are not bounded here: they run as long as the step, which the build's timeout bounds. A copy
 * out of a container gets an idle deadline, renewed on progress, so a large copy may take as long
 * as it keeps moving.
 */
export const ENGINE_TIMEOUTS = {
  /** inspect, create, kill, exec create/start/inspect. */
  call: 60_000,
  /** Removing a container deletes its writable layer, which can be large. */
  remove: 5 * 60_000,
  /** Committing copies the container's changes into an image layer (GBs for a full build). */
  commit: 15 * 60_000,
};

/** The HTTP status an Engine API call failed with (dockerode's `statusCode`), if any. */
export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

export class EngineTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`Docker engine did not answer ${what} within ${ms / 1000}s`);
    this.name = 'EngineTimeout';
  }
}

/**
 * Runs `call` with a signal that aborts the request at the deadline (dockerode's `abortSignal`),
 * and gives up on it then even if the request ignores the signal.
 */
export async function withTimeout<T>(
  what: string,
  ms: number,
  call: (abortSignal: AbortSignal) => Promise<T>,
  /** The caller's own signal (a build's cancel or timeout): aborts the request too. */
  signal?: AbortSignal,
): Promise<T> {
  // Stopped already: no request is made at all.
  if (signal?.aborted) throw new Error(`${what} aborted`);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new EngineTimeout(what, ms));
    }, ms);
    onAbort = () => {
      controller.abort();
      reject(new Error(`${what} aborted`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

export interface IdleDeadline {
  /** Fires when the caller's signal does, or when no progress was reported for `ms`. */
  signal: AbortSignal;
  progress(): void;
  /** The EngineTimeout when the deadline (not the caller) aborted. */
  timedOut(): EngineTimeout | null;
  clear(): void;
}

export function idleDeadline(what: string, ms: number, signal?: AbortSignal): IdleDeadline {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timeout: EngineTimeout | null = null;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timeout = new EngineTimeout(what, ms);
      controller.abort(timeout);
    }, ms);
  };
  const forward = () => controller.abort(signal?.reason);
  if (signal?.aborted) forward();
  else signal?.addEventListener('abort', forward, { once: true });
  arm();
  return {
    signal: controller.signal,
    progress: arm,
    timedOut: () => timeout,
    clear() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    },
  };
}
