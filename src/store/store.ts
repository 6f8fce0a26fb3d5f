/**
 * Where builds and webhook deliveries live. SQLite now (sqlite/sqlite-store.ts), PostgreSQL later;
 * both must pass test/unit/store.contract.ts.
 */
import type { Build, BuildState, NewBuild, RefType } from '../domain/build.js';

export interface Delivery {
  deliveryId: string;
  event: string;
  outcome: 'build' | 'ignored';
  buildId: number | null;
  reason: string | null;
  receivedAt: string;
}

export interface CreatedBuild {
  build: Build;
  /** False when the delivery id was seen before: `build` is the one it created then. */
  created: boolean;
  /** Older queued builds of the same repository and ref that this one superseded. */
  superseded: Build[];
}

export type BuildPatch = Partial<
  Pick<Build, 'reason' | 'steps' | 'artifact' | 'image' | 'logPath' | 'startedAt' | 'finishedAt'>
>;

export interface HistoryPage {
  builds: Build[];
  /** Pass as `before` to get the next page; null on the last one. */
  nextBefore: number | null;
}

export interface Store {
  /**
   * Records the build (and its delivery) and supersedes older queued builds of the same repository,
   * ref type and ref, atomically. A delivery id that made a build before returns that build.
   */
  createBuild(build: NewBuild): Promise<CreatedBuild>;
  /**
   * Records a delivery that made no build. Again for the same id: the reason is updated, unless
   * the delivery made a build meanwhile. A later `createBuild` with that id turns it into a build.
   */
  recordIgnored(deliveryId: string, event: string, reason: string): Promise<Delivery>;
  findDelivery(deliveryId: string): Promise<Delivery | null>;
  getBuild(id: number): Promise<Build | null>;
  /** Queued and running builds, oldest first. */
  listActive(): Promise<Build[]>;
  /** Finished builds, newest first. */
  listHistory(options: { limit: number; before?: number }): Promise<HistoryPage>;
  /** The newest build of a repository's branch or tag (a tag and a branch of one name are two refs). */
  latestForRef(repository: string, refType: RefType, branch: string): Promise<Build | null>;
  /** The newest build that published the kernel file `artifact` (who owns that name). */
  latestWithArtifact(artifact: string): Promise<Build | null>;
  /**
   * Moves a build to `to` only when it is in one of `from`; returns the updated build, or null
   * when it was not (someone else moved it first).
   */
  transition(
    id: number,
    from: readonly BuildState[],
    to: BuildState,
    patch?: BuildPatch,
  ): Promise<Build | null>;
  update(id: number, patch: BuildPatch): Promise<Build | null>;
  countByState(): Promise<Record<BuildState, number>>;
  /** Finished builds that still have a log or a kernel on disk, newest first (for retention). */
  listWithFiles(): Promise<Build[]>;
  close(): Promise<void>;
}
