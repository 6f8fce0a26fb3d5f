/**
 * The caches each engine holds and their sizes, for `GET /api/caches` and the repository page.
 * Sizes come from the engine's `/system/df`, which measures every volume: one measurement serves
 * every request for `maxAgeMs`, and requests that come while it runs wait for that one.
 */
import { listCaches, type CacheEngine, type CacheEntry } from './cache-retention.js';
import type { Store } from '../store/store.js';

export interface CacheReport {
  caches: CacheEntry[];
  /** When the sizes were measured (ISO). */
  measuredAt: string;
  /** Engines that did not answer: their caches are missing from the list. */
  unanswered: string[];
}

export function cacheReporter(
  engines: () => readonly CacheEngine[],
  store: Pick<Store, 'listCacheUses'>,
  maxAgeMs = 30_000,
): () => Promise<CacheReport> {
  let last: { at: number; report: Promise<CacheReport> } | null = null;
  return () => {
    if (last && Date.now() - last.at < maxAgeMs) return last.report;
    const unanswered: string[] = [];
    const report = listCaches({ engines: engines(), store, onProblem: (name) => unanswered.push(name) }).then(
      (caches) => ({ caches, measuredAt: new Date().toISOString(), unanswered }),
    );
    last = { at: Date.now(), report };
    // A failed measurement is not kept: the next request measures again.
    report.catch(() => (last = null));
    return report;
  };
}
