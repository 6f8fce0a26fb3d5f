/**
 * The Store on PostgreSQL (`DATABASE_URL=postgres://…`), through node-postgres' pool. The same
 * kysely queries as SQLite; a delivery id is claimed with INSERT … ON CONFLICT, so two servers
 * taking the same webhook make one build.
 */
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { KyselyStore } from '../kysely/kysely-store.js';
import type { Database } from '../kysely/schema.js';

export interface PostgresOptions {
  /** A schema of its own (created when missing), e.g. for tests; default `public`. */
  schema?: string;
  now?: () => Date;
  /**
   * Told when a pooled connection breaks outside a query (the server stopped or restarted). The
   * pool drops that connection and makes a new one on the next query; without a listener,
   * node-postgres' 'error' event would end the process.
   */
  onConnectionError?: (error: Error) => void;
}

/** A connect attempt that hangs (a firewall dropping packets) fails after this, as a refusal would. */
const CONNECT_TIMEOUT_MS = 5000;
/** No query of ours takes this long; past it the database is treated as unreachable. */
const QUERY_TIMEOUT_MS = 30_000;

/** An arbitrary, fixed advisory lock key for migrations. */
const MIGRATION_LOCK = 7_261_001;
/** The first half of the two-part advisory lock key of a ref (the second is a hash of the ref). */
const REF_LOCK_CLASS = 7_261_002;
/** Another fixed key: held for the rest of a `createBuild` transaction that applies queue limits. */
const QUEUE_LOCK = 7_261_003;
/** Another: held by one replica's planning pass (Store.claimBuilds) until its transaction ends. */
const PLAN_LOCK = 7_261_004;

export class PostgresStore extends KyselyStore {
  // Under READ COMMITTED two servers could each count 49 queued and both insert; the lock makes
  // the count and the insert one step. Webhooks are few per second, so one at a time is cheap.
  protected override async lockQueue(trx: Transaction<Database>): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(${QUEUE_LOCK})`.execute(trx);
  }

  /**
   * Replicas plan one at a time: each sees the builds the others claimed (global concurrency,
   * one build per ref, base waits, engine capacity). The pass is short (a read, a decision, a few
   * updates); waiting for the lock is bounded by the query timeout.
   */
  protected override planAlone<T>(plan: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.database.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${PLAN_LOCK})`.execute(trx);
      return plan(trx);
    });
  }

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const schema = options.schema;
    if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`not a schema name: ${schema}`);
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A server that stops answering (paused, a link that dropped without a reset) must not hold
      // a query, and with it a scheduling pass or a build's final write, for good.
      keepAlive: true,
      query_timeout: QUERY_TIMEOUT_MS,
      statement_timeout: QUERY_TIMEOUT_MS,
      // Set by the server at connection start-up: no extra query that could fail unobserved.
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const report = options.onConnectionError ?? (() => undefined);
    // A connection that breaks emits 'error' on its client, idle or checked out for a query (then
    // with no listener of the pool's). Each client's own listener reports it, once; the pool
    // passes on the idle ones' errors too, and must have a listener for them or the process ends.
    pool.on('connect', (client) => client.on('error', report));
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      // Servers starting together must not create the schema or tables at the same time:
      // PostgreSQL's IF NOT EXISTS is not safe against that. One at a time, under a lock.
      await db.connection().execute(async (conn) => {
        await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
        try {
          if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(conn);
          // The migrations' own tables go where the tables do: the first schema of the search
          // path (a database_url may choose it with `options=-c search_path=…`). Unqualified,
          // kysely would find another schema's tables and skip creating its own.
          const current = await sql<{ name: string }>`SELECT current_schema() AS name`.execute(conn);
          await KyselyStore.migrate(conn, 'postgres', schema ?? current.rows[0]?.name);
        } finally {
          await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
        }
      });
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new PostgresStore(db, options.now ?? (() => new Date()));
  }

  /**
   * Two pushes of one ref in two servers (or two pool connections) must not both decide "no
   * build of this commit yet": under READ COMMITTED neither sees the other's insert. The lock is
   * released with the transaction.
   */
  protected override async lockRef(trx: Transaction<Database>, key: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(${REF_LOCK_CLASS}::int, hashtext(${key}))`.execute(trx);
  }
}
