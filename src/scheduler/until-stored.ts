/**
 * Writes what must not be lost (a build's final state): while the database is away, tries again
 * every `retryMs` until it is back, or until `giveUp()` (the stop's grace period is over: the
 * build then stays `running` in the database and the next start interrupts and re-queues it).
 */
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../store/store-unavailable.js';

export interface RetryOptions {
  logger: Logger;
  retryMs: number;
  giveUp: () => boolean;
}

export async function untilStored<T>(
  what: string,
  write: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || options.giveUp()) throw error;
      options.logger.warn(`${what}: database unreachable (${error.reason}); trying again`);
      await new Promise((resolve) => setTimeout(resolve, options.retryMs));
    }
  }
}
