/**
 * The end of a build, where what it made becomes visible, in an order that never leaves a stopped
 * or failed build half-published for the next build to start from:
 *   1. the container is committed under a pending name (abortable; a late commit is removed);
 *   2. a last abort check: the commit point. Past it the build is no longer stopped by cancel or
 *      timeout (what remains takes milliseconds: renames and a tag);
 *   3. the kernel's names are claimed in the store and checked against other refs' builds, then
 *      the kernel and its link are published (atomic renames), all under one lock per
 *      `kernel_target`, so two builds cannot both pass the check;
 *   4. the image tag moves to the pending image (`retag`).
 * A failure in 4 leaves the kernel published: the build ends failed, and its record keeps the
 * artifact, so the name stays owned and retention sees the file.
 */
import { randomBytes } from 'node:crypto';
import { publishArtifact } from '../artifacts/publish-artifact.js';
import type { Build } from '../domain/build.js';
import { ownedNames, type PublishNames } from '../domain/publish-names.js';
import { PENDING_REPOSITORY, type ContainerHandle, type Executor } from '../executor/executor.js';
import type { BuildLog } from '../live/build-log.js';
import type { Store } from '../store/store.js';
import { BuildFailure, LeaseLost } from './build-failure.js';
import { nameTakenBy } from './name-owner.js';
import { throwIfAborted, untilAborted } from './until-aborted.js';

export type NameClaims = Pick<Store, 'latestWithArtifact' | 'update'>;

export interface Delivery {
  build: Build;
  handle: ContainerHandle;
  /** Staged kernel and the names it is published under, when the rule publishes. */
  kernel: { staged: string; names: PublishNames } | null;
  /** The image name (`repo:tag`) the container is committed as, when the rule commits. */
  image: string | null;
}

export interface DeliveryDeps {
  executor: Executor;
  store: NameClaims;
  kernelTarget: string;
  /**
   * Extends the replica's lease (fenced: owner and epoch must still match); false when another
   * replica took the build. Asked past the commit point, before the kernel or the tag moves: the
   * fresh lease then outlasts the renames by far.
   */
  holdLease?: () => Promise<boolean>;
}

export interface Delivered {
  artifact: string | null;
  image: string | null;
  /** Past the commit point: cancel and timeout no longer change the outcome. */
  committed: boolean;
  failure: string | null;
}

/** One publisher at a time per kernel directory: check, claim and rename are one step. */
const publishing = new Map<string, Promise<unknown>>();

function exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
  const next = (publishing.get(key) ?? Promise.resolve()).then(task, task);
  publishing.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

export async function deliver(
  deps: DeliveryDeps,
  what: Delivery,
  log: BuildLog,
  signal: AbortSignal,
): Promise<Delivered> {
  const { build, kernel } = what;
  const pending = what.image
    ? `${PENDING_REPOSITORY}build-${build.id}:${randomBytes(6).toString('hex')}`
    : null;
  let promoted = false;
  try {
    if (pending) {
      // The signal aborts the engine call; untilAborted also covers an executor that ignores it.
      await untilAborted(signal, deps.executor.commit(what.handle, pending, { signal }));
      log.line(`==> committed the container as ${pending}`);
    }
    throwIfAborted(signal);
    if (deps.holdLease && !(await deps.holdLease())) throw new LeaseLost();

    let artifact: string | null = null;
    if (kernel) {
      const { kernel: name, link, release } = kernel.names;
      await exclusive(deps.kernelTarget, async () => {
        const taken = await nameTakenBy(deps.store, deps.kernelTarget, build, ...ownedNames(kernel.names));
        if (taken) throw new BuildFailure(taken);
        // Claimed before the rename: another ref's build checking these names now sees this one.
        await deps.store.update(build.id, { artifact: name });
        await publishArtifact(kernel.staged, deps.kernelTarget, name, { link }).catch(
          async (error: Error) => {
            await deps.store.update(build.id, { artifact: null }).catch(() => undefined);
            throw new BuildFailure(`publishing ${name} failed: ${error.message}`);
          },
        );
      });
      artifact = name;
      log.line(`==> published ${name}${link ? ` (${release ? 'release link' : 'link'} ${link})` : ''}`);
    }

    if (pending && what.image) {
      try {
        const { replaced } = await deps.executor.retag(pending, what.image);
        promoted = true;
        log.line(`==> image ${what.image}${replaced ? ` (removed previous ${replaced.slice(0, 19)})` : ''}`);
      } catch (error) {
        const reason = `build engine error: moving ${what.image} failed: ${(error as Error).message}`;
        return { artifact, image: null, committed: true, failure: reason };
      }
    }
    return { artifact, image: what.image, committed: true, failure: null };
  } finally {
    if (pending && !promoted) await deps.executor.removeImage(pending).catch(() => undefined);
  }
}
