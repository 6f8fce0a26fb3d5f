/**
 * Deadlines for Engine API calls: an engine that stops answering must not hold a build (or the
 * service's shutdown) forever. A streaming call is given an idle deadline, renewed on progress,
 * so a large copy may take as long as it keeps moving.
 */
export const ENGINE_CALL_TIMEOUT_MS = 60_000;

export class EngineTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`the Docker engine did not answer within ${ms / 1000} s (${what})`);
    this.name = 'EngineTimeout';
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
