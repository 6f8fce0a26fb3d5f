import type { Generated } from 'kysely';

export interface BuildsTable {
  id: Generated<number>;
  project: string;
  repository: string;
  ref_type: string;
  branch: string;
  commit_sha: string;
  kind: string;
  state: string;
  reason: string | null;
  pusher: string | null;
  delivery_id: string | null;
  /** SHA-256 of the push body that made the build (migration 0002); null for other builds. */
  body_sha256: string | null;
  steps: string;
  artifact: string | null;
  image: string | null;
  /** The boot test's BootResult as JSON (migration 0004); null without one. */
  boot: string | null;
  log_path: string | null;
  retry_of: number | null;
  attempt: number;
  /** The engine the build ran on (migration 0005); null until it starts. */
  engine: string | null;
  /** Migration 0008: a pull request build's facts (domain/pull-request.ts); null otherwise. */
  pull_number: number | null;
  pull_title: string | null;
  pull_base_branch: string | null;
  pull_head_repository: string | null;
  /** 1 when the head repository is a fork (an integer: SQLite has no booleans). */
  pull_fork: number | null;
  pull_author: string | null;
  /** PullApproval: `none`, `awaiting`, `approved`. */
  pull_approval: string | null;
  /** Migration 0009: the typed failure cause, the lease (owner, expiry, epoch), a stop request as JSON. */
  cause: string | null;
  owner: string | null;
  lease_expires_at: string | null;
  epoch: Generated<number>;
  cancel_requested: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface DeliveriesTable {
  delivery_id: string;
  event: string;
  outcome: string;
  build_id: number | null;
  reason: string | null;
  received_at: string;
  /** Migration 0006: what the delivery was about, for /api/deliveries. */
  repository: string | null;
  ref: string | null;
}

/**
 * Migration 0011: a build's commit list (JSON), apart from its row: every state change rewrites
 * the row, and a push's list (up to 2048 commits) would be rewritten with it. No row for an empty
 * list.
 */
export interface BuildCommitsTable {
  build_id: number;
  commits: string;
}

/** Migration 0010: build caches and their last use (Store.recordCacheUse). */
export interface CachesTable {
  engine: string;
  volume: string;
  repository: string;
  path: string;
  ref_type: string;
  branch: string;
  last_used_at: string;
}

/** Migration 0009: one row per service replica, its heartbeat. */
export interface ReplicasTable {
  instance: string;
  host: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}

/** Migration 0009: settings shared by every replica (`paused`). */
export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  builds: BuildsTable;
  build_commits: BuildCommitsTable;
  deliveries: DeliveriesTable;
  caches: CachesTable;
  replicas: ReplicasTable;
  settings: SettingsTable;
}
