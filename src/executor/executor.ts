/**
 * How the pipeline runs containers. Docker now (docker/docker-executor.ts), a fake for scheduler
 * tests (fake/fake-executor.ts, test-only: the production build leaves it out); both pass
 * test/integration/executor.contract.ts.
 *
 * Call order for one build:
 *   ping → listTags/ensureImage (choosing the image) → create (with `firstStep.sourceOnStdin`,
 *   while the commit is still being fetched) → runFirstStep with `source` (the container starts at
 *   once; the source is written to step 1's stdin once the commit is there, unpacked at `/`, and
 *   only then does step 1 run; the container is stopped when it ends) → resume? (only when more
 *   steps follow) → exec (each later step) → copyFileOut? → commit? (under a pending name) →
 *   retag? (the commit point) → destroy
 * `source` may wait as long as its caller wants (the pipeline holds it until the container is the
 * build's: the repository file may still replace it); nothing of step 1 runs before it resolves,
 * and when it rejects, the container is killed and runFirstStep rejects with that reason.
 * When `create` did not take the source on stdin (`handle.sourceOnStdin` false: an image known to
 * lack `tar`, or whose USER is not root), or `runFirstStep` throws SourceNotUnpacked of kind `no-tar`, the caller destroys that
 * container and takes the older order: create (without `sourceOnStdin`) → putArchive (into the
 * created container) → runFirstStep (without `source`).
 * A build whose first step needs what the container's configuration must not keep (secrets:
 * pipeline/build-env.ts) is created without `firstStep`, then putArchive → `resume` → exec for
 * every step.
 * `start` is `create` + `resume` in one call. `copyFileOut` and `commit` work on a running or a
 * stopped container alike; `exec` needs a running one (after `resume`).
 * A build's image is committed under a pending name first and moved to its real name by `retag`
 * only when the build has nothing left that can fail or be cancelled: a cancelled or failed build
 * never moves a tag that incremental builds start from (`removeImage` drops its pending name).
 * `destroy` runs on success, failure and cancel alike, also after a failed `start`; it is
 * idempotent (a second call, or a call for a container that is already gone, succeeds), and so is
 * `pruneImages`. `listManaged` only reads: recovery calls it, then `destroy` for each leftover. `copyFileOut` changes
 * nothing in the container and may be called any number of times.
 *
 * Cache volumes (pipeline/build-caches.ts): `createVolume` (idempotent) → `copyVolume`? (seeding a
 * new one, once) → `start` with `caches` → … → `destroy`. A cache outlives its containers; only
 * `removeVolume` (gc) drops one, and it refuses one that a container still mounts.
 *
 * Nothing a build leaves is ever reached through a host path: the container shares no directory
 * with the host, and files leave it only through `copyFileOut` (the engine's archive API).
 */
import type { Readable } from 'node:stream';

export const MANAGED_LABEL = 'org.zero-os.autobuilder';
export const BUILD_LABEL = 'org.zero-os.autobuilder.build';
/** Which service made the container: leftovers are removed only by the service that made them. */
export const INSTANCE_LABEL = 'org.zero-os.autobuilder.instance';
/** Where a build's image waits between its commit and the commit point (`retag`). */
export const PENDING_REPOSITORY = 'autobuilder-pending/';

export interface ContainerSpec {
  buildId: number;
  image: string;
  env: Record<string, string>;
  network: string;
  /**
   * Limits; an unset one gets its default from src/domain/limits.ts (limits are never off).
   * Every container also runs with `no-new-privileges` and without DROPPED_CAPABILITIES.
   */
  memoryBytes?: number;
  pidsLimit?: number;
  /** Capabilities given back (e.g. `NET_RAW`), from the rule's `cap_add`. */
  capAdd?: string[];
  /**
   * Container paths that start empty in every container, stay out of committed images and are
   * shared with nothing (anonymous engine volumes, removed with the container): `/target`.
   */
  volumes?: string[];
  /**
   * Named cache volumes (rule key `cache:`), made with `createVolume` first, mounted at `target`;
   * read-only ones cannot be written by anything in the container.
   */
  caches?: CacheMount[];
  workingDir?: string;
  /**
   * The command the container runs as its own process the first time it starts (`runFirstStep`),
   * with `env` as its environment, in `firstStep.workingDir`. At any later start (`resume`) it
   * waits for exec instead and the step is not run again. Its exit code comes from the engine
   * (the process's own status), so nothing the step prints can change it. Absent: the container
   * only ever waits for exec.
   */
  firstStep?: FirstStep;
}

export interface FirstStep {
  command: string;
  workingDir?: string;
  /**
   * The source comes in on the process's stdin (`runFirstStep`'s `source`): the command first
   * unpacks it at `/` with the image's `tar`, closes stdin, and runs the step only when the whole
   * archive was unpacked. `create` may refuse it (see `ContainerHandle.sourceOnStdin`).
   */
  sourceOnStdin?: boolean;
}

/** A tar archive of the source, extracted at `/`; `bytes` is its exact length. */
export interface SourceArchive {
  tar: Readable;
  bytes: number;
}

/**
 * The source given on step 1's stdin was not unpacked, so step 1 did not run: `no-tar` (the image
 * has no `tar` or `head`: the caller takes putArchive instead) or `failed` (a truncated or corrupt
 * archive; tar's own message is in the step's output). Never step 1's own exit code.
 */
export class SourceNotUnpacked extends Error {
  constructor(
    readonly kind: 'no-tar' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'SourceNotUnpacked';
  }
}

export interface CacheMount {
  volume: string;
  target: string;
  readOnly: boolean;
}

export interface CopyVolumeOptions {
  signal?: AbortSignal;
  buildId?: number;
}

/** A cache volume of this service on the engine, as `listVolumes` reports it. */
export interface VolumeUsage {
  name: string;
  labels: Record<string, string>;
  /** Bytes on disk, from the engine's `/system/df`; null when the engine did not measure it. */
  sizeBytes: number | null;
  /** Containers (running or not) that mount it; null when the engine did not say. */
  refCount: number | null;
  createdAt: string | null;
}

export interface ContainerHandle {
  id: string;
  buildId: number;
  /** True when the container takes the source on step 1's stdin (`firstStep.sourceOnStdin` honoured). */
  sourceOnStdin?: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  env?: Record<string, string>;
  workingDir?: string;
  onOutput: (chunk: Buffer, stream: OutputStream) => void;
  /** Aborting kills the container, so the command ends at once. */
  signal?: AbortSignal;
}

/** Output and cancel of `runFirstStep`: its command, environment and directory are in the spec. */
export type RunOptions = Pick<ExecOptions, 'onOutput' | 'signal'> & {
  /**
   * Required when `handle.sourceOnStdin`: called once the container has started; what it resolves
   * with is written to step 1's stdin. When it rejects (or its stream fails), the container is
   * killed and `runFirstStep` rejects with that error.
   */
  source?: () => Promise<SourceArchive>;
};

export interface CopyOutOptions {
  /** A file larger than this is refused; reading stops as soon as it is passed. */
  maxBytes: number;
  /** Aborting ends the copy at once (the partial destination is removed). */
  signal?: AbortSignal;
}

/** Why `copyFileOut` refused a path. */
export type RefusedKind =
  'missing' | 'symlink' | 'fifo' | 'device' | 'directory' | 'not-regular' | 'empty' | 'too-large';

/** The build left something other than a regular, non-empty file within the limit. */
export class FileRefused extends Error {
  constructor(
    readonly kind: RefusedKind,
    readonly path: string,
  ) {
    super(`${path}: refused (${kind})`);
    this.name = 'FileRefused';
  }
}

export interface ManagedContainer {
  id: string;
  buildId: number | null;
}

export interface Executor {
  /**
   * Throws ExecutorUnavailable when the engine does not answer (within the executor's own
   * deadline). `signal` ends the request too: a caller that stops waiting sooner (the engine
   * pool's health check) leaves no request open.
   */
  ping(signal?: AbortSignal): Promise<void>;
  /** True when the image is present (or could be fetched) on the engine. */
  ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean>;
  /** Tags present locally for an image repository such as `zero-os/initramfs`. */
  listTags(repo: string): Promise<string[]>;
  /**
   * Creates a container, not started, labelled as ours with the build id. Nothing runs in it yet:
   * files put in with `putArchive` are there before its first process starts.
   */
  create(spec: ContainerSpec): Promise<ContainerHandle>;
  /**
   * Starts a created container with `spec.firstStep` as its process and resolves with that
   * process's exit code, once it has ended (the container is then stopped: whatever the step left
   * running in the background ended with it). Output reaches `onOutput` as with `exec` (stderr
   * merged into stdout at the source); aborting kills the container and resolves 137 at once.
   * Throws (an engine error, not an exit code) when the engine fails or the output stream is cut
   * while the step still runs. Called once per container, and only on one made with `firstStep`.
   * With `handle.sourceOnStdin`: throws SourceNotUnpacked when the source was not unpacked (step 1
   * never ran then); a step that exits non-zero after a complete unpack resolves with its code.
   */
  runFirstStep(handle: ContainerHandle, options: RunOptions): Promise<number>;
  /**
   * Starts a created or stopped container so that it waits for exec (its `firstStep`, if any, is
   * not run again). Files, volumes and caches are as the last run left them.
   */
  resume(handle: ContainerHandle): Promise<void>;
  /** `create` then `resume`: a container that waits for exec. */
  start(spec: ContainerSpec): Promise<ContainerHandle>;
  /**
   * Extracts a tar stream into the container at `path` (an existing directory, `/` is fine); the
   * container may be created (not yet started) or running.
   */
  putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void>;
  /**
   * Runs `sh -c command`; resolves with its exit code. Output reaches `onOutput` in the order the
   * engine sent it, in chunks that may end anywhere (mid-line, or a frame of the engine's stream
   * in several pieces, as the socket delivered it). The Docker executor merges stderr into stdout at the source
   * (`exec 2>&1`), as only one pipe keeps the order the command printed in. Throws (an engine error, not an exit code) when the stream ends
   * while the command still runs.
   */
  exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number>;
  /**
   * Copies the regular file at `path` out of the container into the host file `destination`
   * (created exclusively, mode 0600), through the engine's archive API. `path` is resolved inside
   * the container's own root: symlinks in its parent directories are followed there, never on
   * the host; a symlink as the last part is refused, not followed. Throws FileRefused (and leaves
   * no `destination`) for a missing path, a symlink, FIFO, device node, directory, an empty file,
   * or one larger than `maxBytes`; resolves with the number of bytes written.
   */
  copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }>;
  /**
   * Commits the container as `image` (repo:tag); the image the tag named before is removed if
   * unused. Aborting `signal` stops waiting; the engine may still finish, so a caller that aborts
   * removes `image` afterwards (`removeImage`, which is safe when it does not exist).
   */
  commit(
    handle: ContainerHandle,
    image: string,
    options?: { signal?: AbortSignal },
  ): Promise<{ imageId: string; replaced: string | null }>;
  /**
   * Points `image` at the image named `from`, then drops the name `from`; the image `image` named
   * before is removed when nothing uses it. Idempotent once done (`from` gone, `image` in place).
   */
  retag(from: string, image: string): Promise<{ replaced: string | null }>;
  /** Drops the name `image` (and the image, when nothing else names or uses it); absent is fine. */
  removeImage(image: string): Promise<void>;
  destroy(handle: ContainerHandle | string): Promise<void>;
  /**
   * Removes untagged images of ours (left when a tag was committed again) and pending images
   * older than an hour (left by a commit that ended after its build was stopped); returns how many.
   */
  pruneImages(): Promise<number>;
  /**
   * Containers labelled as ours, found on the engine (also those left by a crash); with
   * `instance`, those another service instance (a replica sharing the database) made: a dead
   * replica's build container is removed by the one that reaps the build.
   */
  listManaged(instance?: string): Promise<ManagedContainer[]>;
  /**
   * Makes the named volume with `labels` (plus the managed and instance labels); resolves true when
   * this call made it, false when it was there already (its labels are left as they are).
   */
  createVolume(name: string, labels: Record<string, string>): Promise<boolean>;
  /** Whether the named volume exists. */
  hasVolume(name: string): Promise<boolean>;
  /**
   * Copies the whole content of volume `from` into volume `to` (both exist), keeping owners, modes
   * and links, in a short container of `image` (which must have `sh` and `cp`) with no network and
   * the default limits, removed afterwards. `from` is mounted read-only. Rejects when the copy fails.
   * `buildId` labels the container as that build's (a running build's is no leftover).
   */
  copyVolume(from: string, to: string, image: string, options?: CopyVolumeOptions): Promise<void>;
  /** This service's volumes (managed and instance labels), with their size when the engine knows it. */
  listVolumes(): Promise<VolumeUsage[]>;
  /**
   * Removes the named volume; resolves true when it is gone (also when it was never there), false
   * when a container still mounts it (then it is left as it is).
   */
  removeVolume(name: string): Promise<boolean>;
}

export class ExecutorUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorUnavailable';
  }
}
