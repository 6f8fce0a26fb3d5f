/** `database_url` → the Store: `sqlite:<path>` (the default) or `postgres://…`. */
import { resolve } from 'node:path';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export function openStore(databaseUrl: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return PostgresStore.open(databaseUrl);
  if (databaseUrl.startsWith('sqlite:'))
    return SqliteStore.open(resolve(databaseUrl.slice('sqlite:'.length)));
  throw new Error(
    `unsupported database_url: ${databaseUrl.split(':')[0]}: (use sqlite:<path> or postgres://…)`,
  );
}
