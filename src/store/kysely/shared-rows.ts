/**
 * The Store's rows that are not builds (store.ts has their contract): replicas and their
 * heartbeats, settings shared by every replica (migration 0009), and the build caches' last uses
 * (migration 0010).
 */
import type { Kysely } from 'kysely';
import type { CacheUse, Replica } from '../store.js';
import type { Database } from './schema.js';

export class SharedRows {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date,
  ) {}

  async heartbeat(replica: Omit<Replica, 'heartbeatAt'>): Promise<void> {
    const heartbeat_at = this.now().toISOString();
    await this.db
      .insertInto('replicas')
      .values({
        instance: replica.instance,
        host: replica.host,
        pid: replica.pid,
        started_at: replica.startedAt,
        heartbeat_at,
      })
      .onConflict((oc) =>
        oc.column('instance').doUpdateSet({
          host: replica.host,
          pid: replica.pid,
          started_at: replica.startedAt,
          heartbeat_at,
        }),
      )
      .execute();
  }

  async listReplicas(): Promise<Replica[]> {
    const rows = await this.db.selectFrom('replicas').selectAll().orderBy('heartbeat_at', 'desc').execute();
    return rows.map((r) => ({
      instance: r.instance,
      host: r.host,
      pid: Number(r.pid),
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
    }));
  }

  async getSetting(key: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async recordCacheUse(use: CacheUse): Promise<void> {
    const row = {
      engine: use.engine,
      volume: use.volume,
      repository: use.repository,
      path: use.path,
      ref_type: use.refType,
      branch: use.branch,
      last_used_at: use.lastUsedAt,
    };
    await this.db
      .insertInto('caches')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['engine', 'volume'])
          .doUpdateSet({ last_used_at: row.last_used_at })
          // ISO times of one format compare as text: an older use never moves the time back.
          .where('caches.last_used_at', '<', row.last_used_at),
      )
      .execute();
  }

  async listCacheUses(): Promise<CacheUse[]> {
    const rows = await this.db
      .selectFrom('caches')
      .selectAll()
      .orderBy('last_used_at')
      .orderBy('engine')
      .orderBy('volume')
      .execute();
    return rows.map((r) => ({
      engine: r.engine,
      volume: r.volume,
      repository: r.repository,
      path: r.path,
      refType: r.ref_type,
      branch: r.branch,
      lastUsedAt: r.last_used_at,
    }));
  }

  async forgetCache(engine: string, volume: string): Promise<void> {
    await this.db.deleteFrom('caches').where('engine', '=', engine).where('volume', '=', volume).execute();
  }
}
