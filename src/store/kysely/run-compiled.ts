/**
 * Runs a compiled statement of a transaction and gives its rows. Where the store can run it on
 * the transaction's connection directly (SQLite inside a group commit: one connection, held by
 * the group, and better-sqlite3 is synchronous), it skips kysely's executor, whose connection
 * provider, mutex and promise chain cost more than the statement's own call for the small
 * statements of a push. Anywhere else, kysely runs it.
 */
import type { CompiledQuery, Transaction } from 'kysely';

/** Runs a statement on the connection a transaction holds; returns its rows (none for a write). */
export type DirectRun = (query: CompiledQuery) => unknown[];

const direct = new WeakMap<Transaction<never>, DirectRun>();

/** For the life of `trx`, its compiled statements run through `run`. */
export function runDirectly<DB>(trx: Transaction<DB>, run: DirectRun): void {
  direct.set(trx as unknown as Transaction<never>, run);
}

export async function rowsOf<DB, R>(trx: Transaction<DB>, query: CompiledQuery<R>): Promise<R[]> {
  const run = direct.get(trx as unknown as Transaction<never>);
  if (run) return run(query) as R[];
  return (await trx.executeQuery(query)).rows;
}

/**
 * Runs a read outside any transaction on the connection directly, or gives null when it cannot
 * (SQLite with a transaction open: a read there would see its uncommitted writes; kysely then
 * runs it once the transaction is over).
 */
export type DirectRead = (query: CompiledQuery) => unknown[] | null;
