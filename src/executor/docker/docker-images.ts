/**
 * Images on a Docker engine (the Executor's image calls; docker-executor.ts delegates here), and
 * what the executor knows of them: which images take a build's source on stdin. Every Engine API
 * call has a deadline, as everywhere in the executor.
 */
import type Docker from 'dockerode';
import { splitImageName } from '../../domain/base-image.js';
import { MANAGED_LABEL, PENDING_REPOSITORY } from '../executor.js';
import { ENGINE_TIMEOUTS, statusOf, withTimeout } from './engine-timeout.js';
import { inspectImage, pullImage } from './image-transfer.js';

/** How long an inspect made by `ensure` serves the `copiesSourceIn` of the create after it. */
const INSPECT_REUSE_MS = 2000;

export class DockerImages {
  /** Image name → id of images whose first step found no `tar` (they get the source by putArchive). */
  private readonly withoutTar = new Map<string, string>();
  /**
   * The image inspect `ensure` made, for the create that follows it (`copiesSourceIn`): one
   * inspect before a build's container, not two. Taken once, and only while fresh: the engine's
   * answer a few milliseconds later could differ only if the tag moved meanwhile, which an inspect
   * in the create could not rule out either (the create itself comes after it).
   */
  private readonly inspected = new Map<string, { at: number; info: Docker.ImageInspectInfo }>();

  constructor(
    private readonly docker: Docker,
    private readonly timeouts: typeof ENGINE_TIMEOUTS,
  ) {}

  /** The image is on the engine, pulled when it was not; false when the pull failed. */
  async ensure(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    const info = await this.inspect(image);
    if (info) {
      // Entries no create took (a build ended before its create, a registry's own name) go too.
      for (const [name, entry] of this.inspected)
        if (Date.now() - entry.at >= INSPECT_REUSE_MS) this.inspected.delete(name);
      this.inspected.set(image, { at: Date.now(), info });
      return true;
    }
    try {
      // An idle deadline: a pull may take long while it moves, a wedged engine fails it.
      await pullImage(this.docker, image, onProgress, this.timeouts.call);
      return true;
    } catch (error) {
      onProgress?.(`pull failed: ${(error as Error).message}`);
      return false;
    }
  }

  async listTags(repo: string): Promise<string[]> {
    const images = await withTimeout('list images', this.timeouts.call, (abortSignal) =>
      this.docker.listImages({ filters: { reference: [repo] }, abortSignal }),
    );
    return images
      .flatMap((image) => image.RepoTags ?? [])
      .filter((tag) => tag.startsWith(`${repo}:`))
      .map((tag) => tag.slice(repo.length + 1));
  }

  /**
   * Whether the source must be copied in (`putArchive`) rather than unpacked by step 1 itself in
   * `image`: one whose first step found no `tar` (`lacksTar`; remembered by image id: a new image
   * under the same name is tried again), or one whose USER is not root (it could not write the
   * checkout's directory at `/`, nor the note, where the engine's own `putArchive` can). The
   * inspect `ensure` just made, else one of its own; in parallel with the fetch.
   */
  async copiesSourceIn(image: string): Promise<boolean> {
    const recent = this.inspected.get(image);
    this.inspected.delete(image);
    const info =
      recent && Date.now() - recent.at < INSPECT_REUSE_MS
        ? recent.info
        : await this.inspect(image).catch(() => null);
    // Unknown (an engine hiccup): copying the source in works for every image, stdin does not.
    if (!info) return true;
    if (!/^(|root|0)(:(root|0))?$/.test(info.Config?.User ?? '')) return true;
    const known = this.withoutTar.get(image);
    if (!known) return false;
    if (info.Id === known) return true;
    this.withoutTar.delete(image);
    return false;
  }

  /** Step 1 in image `name` (id `id`) found no `tar`: its next builds get the source copied in. */
  lacksTar(name: string, id: string): void {
    this.withoutTar.set(name, id);
  }

  /** The image's inspect, or null when the engine has no such image. */
  private inspect(image: string): Promise<Docker.ImageInspectInfo | null> {
    return inspectImage(this.docker, image, this.timeouts.call);
  }

  /** The id `image` names now, or null (no such image, or the engine did not answer). */
  async id(image: string): Promise<string | null> {
    return this.inspect(image)
      .then((info) => info?.Id ?? null)
      .catch(() => null);
  }

  /** The image `previous` no longer named: removed, unless a container (a running build) uses it. */
  async removeReplaced(previous: string | null, current: string): Promise<string | null> {
    if (!previous || previous === current) return null;
    return withTimeout('image remove', this.timeouts.remove, (abortSignal) =>
      this.docker.getImage(previous).remove({ abortSignal }),
    )
      .then(() => previous)
      .catch(() => null);
  }

  async retag(from: string, image: string): Promise<{ replaced: string | null }> {
    const id = await this.id(from);
    if (!id) {
      if (await this.id(image)) return { replaced: null }; // done before
      throw new Error(`image ${from} not found`);
    }
    const previous = await this.id(image);
    const { repo, tag } = splitImageName(image);
    await withTimeout('image tag', this.timeouts.call, (abortSignal) =>
      this.docker.getImage(id).tag({ repo, tag, abortSignal }),
    );
    await this.remove(from);
    return { replaced: await this.removeReplaced(previous, id) };
  }

  async remove(image: string): Promise<void> {
    try {
      await withTimeout('image remove', this.timeouts.remove, (abortSignal) =>
        this.docker.getImage(image).remove({ abortSignal }),
      );
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async prune(): Promise<number> {
    // Pending images live from a commit to its retag (seconds); one older than an hour was left by
    // a commit the engine finished after its build had been stopped.
    const pending = await withTimeout('list images', this.timeouts.call, (abortSignal) =>
      this.docker.listImages({ filters: { reference: [`${PENDING_REPOSITORY}*`] }, abortSignal }),
    );
    const cutoff = Date.now() / 1000 - 3600;
    let removed = 0;
    for (const image of pending.filter((i) => i.Created < cutoff)) {
      for (const name of image.RepoTags ?? []) {
        if (!name.startsWith(`${PENDING_REPOSITORY}`)) continue;
        await this.remove(name).then(
          () => (removed += 1),
          () => undefined,
        );
      }
    }
    const result = await withTimeout('prune images', this.timeouts.remove, (abortSignal) =>
      this.docker.pruneImages({ filters: { dangling: ['true'], label: [MANAGED_LABEL] }, abortSignal }),
    );
    return removed + (result.ImagesDeleted?.filter((entry) => entry.Deleted).length ?? 0);
  }
}
