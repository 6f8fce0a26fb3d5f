/**
 * `database_url` → the Store: `sqlite:<path>` (the default) or `postgres://…`, guarded so that a
 * database that goes away is a 503, not a crash (guarded-store.ts). A PostgreSQL server that is
 * not there yet at start (a compose file or a systemd unit starting both) is waited for.
 */
import { resolve } from 'node:path';
import { formatDuration } from '../domain/duration.js';
import { databaseAddress, describeConnectionError, isConnectionError } from './postgres/connection-error.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { GuardedStore } from './guarded-store.js';
import { StoreUnavailableError } from './store-unavailable.js';

export interface OpenStoreOptions {
  /** How long to keep trying a PostgreSQL server that cannot be reached; 0: one attempt. */
  waitMs?: number;
  /** Time between attempts. */
  retryMs?: number;
  /** Told once per failed attempt, with one line saying where and why. */
  onAttemptFailed?: (line: string) => void;
  /** Told when a pooled connection breaks under the running service. */
  onConnectionError?: (error: unknown) => void;
  /** Health probe intervals (tests shorten them). */
  probeMs?: { down: number; up: number };
}

/** Whether `database_url` names a PostgreSQL server (else it is `sqlite:<path>`). */
export const isPostgresUrl = (databaseUrl: string): boolean => /^postgres(ql)?:\/\//.test(databaseUrl);

export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<GuardedStore> {
  if (isPostgresUrl(databaseUrl)) return openPostgres(databaseUrl, options);
  if (databaseUrl.startsWith('sqlite:')) {
    const inner = await SqliteStore.open(resolve(databaseUrl.slice('sqlite:'.length)));
    // A local file: nothing to reach or wait for at start. But a file locked by another process
    // (a backup, an operator's sqlite3), a full disk or an I/O error pass: a build's final state
    // is written again when they do, never dropped as if it were a bug.
    return new GuardedStore(inner, {
      isUnavailable: isTransientSqliteError,
      describe: (error) => (error as Error).message,
      probe: () => inner.ping(),
      downProbeMs: options.probeMs?.down,
      upProbeMs: options.probeMs?.up,
    });
  }
  throw new Error(
    `unsupported database_url: ${databaseUrl.split(':')[0]}: (use sqlite:<path> or postgres://…)`,
  );
}

/** SQLite result codes that say "not now" (locked, full, I/O), not "this query is wrong". */
export function isTransientSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openPostgres(url: string, options: OpenStoreOptions): Promise<GuardedStore> {
  // Loaded only for PostgreSQL: the driver is ~15 MB of resident memory an SQLite service never uses.
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  const { waitMs = 0, retryMs = 2000 } = options;
  const address = databaseAddress(url);
  const deadline = Date.now() + waitMs;
  let guarded: GuardedStore | null = null;
  const onConnectionError = (error: Error) => {
    guarded?.reportConnectionError(error);
    options.onConnectionError?.(error);
  };
  for (;;) {
    try {
      const inner = await PostgresStore.open(url, { onConnectionError });
      guarded = new GuardedStore(inner, {
        isUnavailable: isConnectionError,
        describe: describeConnectionError,
        probe: () => inner.ping(),
        downProbeMs: options.probeMs?.down,
        upProbeMs: options.probeMs?.up,
      });
      return guarded;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      const reason = describeConnectionError(error);
      const line = `cannot reach the database at ${address}: ${reason}`;
      if (Date.now() + retryMs > deadline) {
        const waited = waitMs > 0 ? ` (waited ${formatDuration(waitMs)}, database_wait)` : '';
        throw new StoreUnavailableError(reason, `${line}${waited}`);
      }
      options.onAttemptFailed?.(line);
      await sleep(retryMs);
    }
  }
}
