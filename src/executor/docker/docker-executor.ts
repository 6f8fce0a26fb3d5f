/** The Executor on a real Docker engine, through dockerode. */
import { Readable, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import { splitImageName } from '../../domain/base-image.js';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  ExecutorUnavailable,
  FileRefused,
  MANAGED_LABEL,
  PENDING_REPOSITORY,
  SourceNotUnpacked,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type RunOptions,
  type Executor,
  type ManagedContainer,
  type CopyVolumeOptions,
  type VolumeUsage,
} from '../executor.js';
import { ENGINE_TIMEOUTS, idleDeadline, withTimeout } from './engine-timeout.js';
import { containerOptions, envList, firstStepNoteArchive } from './container-config.js';
import { feedSource, readSourceNote } from './source-feed.js';
import { exitCodeAfterStream, MERGE_STDERR, readStepStream } from './step-stream.js';
import { pullImage } from './image-transfer.js';
import { readFileEntry } from '../read-file-entry.js';
import { DockerVolumes } from './docker-volumes.js';

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** How long an inspect made by `ensureImage` serves the `create` that follows it. */
const INSPECT_REUSE_MS = 2000;

export class DockerExecutor implements Executor {
  private readonly volumes: DockerVolumes;
  /** Image name → id of images whose first step found no `tar` (they get the source by putArchive). */
  private readonly withoutTar = new Map<string, string>();
  /**
   * Containers made here with a first step that was not started again yet: `resume` puts the
   * note in (container-config.ts). Gone with the process, as are the containers (recovery).
   */
  private readonly firstSteps = new Set<string>();
  /**
   * The image inspect `ensureImage` made, for the `create` that follows it (`copiesSourceIn`): one
   * inspect before a build's container, not two. Taken once, and only while fresh: the engine's
   * answer a few milliseconds later could differ only if the tag moved meanwhile, which an inspect
   * in `create` could not rule out either (the create itself comes after it).
   */
  private readonly inspected = new Map<string, { at: number; info: Docker.ImageInspectInfo }>();
  /**
   * `instance` names this service (see serviceInstance()), so that two services sharing one
   * engine never remove each other's containers as leftovers.
   * `timeouts` are the deadlines of Engine API calls (tests shorten them).
   */
  constructor(
    private readonly docker: Docker = new Docker(),
    private readonly instance = 'default',
    private readonly timeouts: typeof ENGINE_TIMEOUTS = ENGINE_TIMEOUTS,
  ) {
    this.volumes = new DockerVolumes(docker, instance, timeouts);
  }

  async ping(): Promise<void> {
    try {
      await withTimeout('ping', this.timeouts.call, () => this.docker.ping());
    } catch (error) {
      throw new ExecutorUnavailable(`Docker engine not reachable: ${(error as Error).message}`);
    }
  }

  async ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    const info = await this.inspectImage(image);
    if (info) {
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

  async create(spec: ContainerSpec): Promise<ContainerHandle> {
    let made = spec;
    if (spec.firstStep?.sourceOnStdin && (await this.copiesSourceIn(spec.image)))
      made = { ...spec, firstStep: { ...spec.firstStep, sourceOnStdin: false } };
    const container = await withTimeout('create container', this.timeouts.call, (abortSignal) =>
      this.docker.createContainer({ ...containerOptions(made, this.instance), abortSignal }),
    );
    if (spec.firstStep) this.firstSteps.add(container.id);
    return { id: container.id, buildId: spec.buildId, sourceOnStdin: made.firstStep?.sourceOnStdin === true };
  }

  /**
   * Whether the source must be copied in (`putArchive`) rather than unpacked by step 1 itself in
   * `image`: one whose first step found no `tar`
   * (remembered by image id: a new image under the same name is tried again), or one whose USER is
   * not root (it could not write the checkout's directory at `/`, nor the note, where the engine's
   * own `putArchive` can). The inspect `ensureImage` just made, else one of its own; in parallel
   * with the fetch.
   */
  private async copiesSourceIn(image: string): Promise<boolean> {
    const recent = this.inspected.get(image);
    this.inspected.delete(image);
    const info =
      recent && Date.now() - recent.at < INSPECT_REUSE_MS
        ? recent.info
        : await this.inspectImage(image).catch(() => null);
    // Unknown (an engine hiccup): copying the source in works for every image, stdin does not.
    if (!info) return true;
    if (!/^(|root|0)(:(root|0))?$/.test(info.Config?.User ?? '')) return true;
    const known = this.withoutTar.get(image);
    if (!known) return false;
    if (info.Id === known) return true;
    this.withoutTar.delete(image);
    return false;
  }

  /** The image's inspect, or null when the engine has no such image. */
  private async inspectImage(image: string): Promise<Docker.ImageInspectInfo | null> {
    try {
      return await withTimeout('image inspect', this.timeouts.call, () =>
        this.docker.getImage(image).inspect(),
      );
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async resume(handle: ContainerHandle): Promise<void> {
    if (this.firstSteps.has(handle.id)) {
      // Its command finds the note and waits for exec: step 1 is not run again.
      await this.putArchive(handle, '/', firstStepNoteArchive());
      this.firstSteps.delete(handle.id);
    }
    await withTimeout('start container', this.timeouts.call, (abortSignal) =>
      this.docker.getContainer(handle.id).start({ abortSignal }),
    );
  }

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    const handle = await this.create(spec);
    try {
      await this.resume(handle);
    } catch (error) {
      await this.destroy(handle).catch(() => undefined);
      throw error;
    }
    return handle;
  }

  async runFirstStep(handle: ContainerHandle, options: RunOptions): Promise<number> {
    if (options.signal?.aborted) return 137;
    const container = this.docker.getContainer(handle.id);
    const kill = () => this.kill(container);
    const stdin = handle.sourceOnStdin === true;
    if (stdin && !options.source) throw new Error('runFirstStep: the source is required on stdin');
    // Attached before it starts, as `docker run` does: not one byte of the step's output is missed.
    const stream = (await withTimeout('attach', this.timeouts.call, (abortSignal) =>
      container.attach({ stream: true, stdin, stdout: true, stderr: true, hijack: true, abortSignal }),
    )) as Duplex;
    // Read from before the start: what the step prints at once is handed on, never dropped.
    const read = readStepStream(stream, options, kill);
    try {
      await withTimeout(
        'start container',
        this.timeouts.call,
        (abortSignal) => container.start({ abortSignal }),
        options.signal,
      );
    } catch (error) {
      stream.destroy();
      await read.catch(() => undefined);
      // Cancelled while starting (the kill above went out): the engine may have started it anyway.
      if (options.signal?.aborted) return 137;
      throw error;
    }
    // The container runs (unpacking waits for its stdin) while the commit is still fetched.
    const fed = stdin ? feedSource(stream, options.source!, read, kill) : Promise.resolve(null);
    await read;
    const sourceError = await fed;
    if (options.signal?.aborted) return 137;
    if (sourceError) throw sourceError;
    // The process's own status, kept by the engine: nothing the step printed can stand for it.
    let image = { name: '', id: '' };
    const code = await exitCodeAfterStream(async () => {
      const info = await withTimeout('container inspect', this.timeouts.call, (abortSignal) =>
        container.inspect({ abortSignal }),
      );
      image = { name: info.Config.Image, id: info.Image };
      return { running: info.State.Running, exitCode: info.State.ExitCode };
    });
    if (!stdin || code === 0) return code;
    const note = await readSourceNote(container, this.timeouts.call);
    if (note === 'unpacked') return code;
    if (note === 'no-tar') {
      this.withoutTar.set(image.name, image.id);
      throw new SourceNotUnpacked(
        'no-tar',
        `image ${image.name} has no tar: the source cannot come on stdin`,
      );
    }
    throw new SourceNotUnpacked(
      'failed',
      `the source could not be unpacked in the container (${note || 'no note'}); step 1 did not run`,
    );
  }

  private kill(container: Docker.Container): void {
    withTimeout('kill', this.timeouts.call, (abortSignal) => container.kill({ abortSignal })).catch(
      () => undefined,
    );
  }

  async putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    // An idle deadline, renewed as the archive moves: a large tree may take long, a wedged engine
    // (one that stops reading, or never answers once it has read all) fails the build.
    const deadline = idleDeadline('put archive', this.timeouts.call);
    // Each chunk read renews the deadline (the request takes only what the engine reads).
    const body = Readable.from(
      (async function* () {
        for await (const chunk of tar) {
          deadline.progress();
          yield chunk as Buffer;
        }
      })(),
    );
    try {
      await this.docker.getContainer(handle.id).putArchive(body, { path, abortSignal: deadline.signal });
    } catch (error) {
      throw deadline.timedOut() ?? error;
    } finally {
      deadline.clear();
      body.destroy();
      tar.destroy();
    }
  }

  async exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    const container = this.docker.getContainer(handle.id);
    if (options.signal?.aborted) return 137;
    const exec = await withTimeout('exec create', this.timeouts.call, (abortSignal) =>
      container.exec({
        // The engine reads stdout and stderr from two pipes and reorders them (FACTS: lines
        // displaced by up to 150 places); on one pipe the log is in the order the step printed.
        Cmd: ['sh', '-c', `${MERGE_STDERR}${command}`],
        Env: envList(options.env ?? {}),
        WorkingDir: options.workingDir,
        AttachStdout: true,
        AttachStderr: true,
        abortSignal,
      }),
    );
    const stream = await withTimeout('exec start', this.timeouts.call, (abortSignal) =>
      exec.start({ hijack: true, stdin: false, abortSignal }),
    );
    await readStepStream(stream, options, () => this.kill(container));
    if (options.signal?.aborted) return 137;
    return exitCodeAfterStream(async () => {
      const info = await withTimeout('exec inspect', this.timeouts.call, (abortSignal) =>
        exec.inspect({ abortSignal }),
      );
      return { running: info.Running, exitCode: info.ExitCode ?? undefined };
    });
  }

  async copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    const deadline = idleDeadline(`copying ${path}`, this.timeouts.call, options.signal);
    try {
      let archive: Readable;
      try {
        // The engine resolves `path` in the container's root and sends a symlink as a symlink.
        archive = (await this.docker
          .getContainer(handle.id)
          .getArchive({ path, abortSignal: deadline.signal })) as Readable;
      } catch (error) {
        if (statusOf(error) === 404 && /could not find the file/i.test((error as Error).message))
          throw new FileRefused('missing', path);
        throw deadline.timedOut() ?? error;
      }
      deadline.progress();
      // Aborting the request alone may leave a response stream that never ends: end it too.
      const onAbort = () => archive.destroy(deadline.timedOut() ?? new Error('copy aborted'));
      deadline.signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await readFileEntry(archive, path, destination, {
          maxBytes: options.maxBytes,
          signal: deadline.signal,
          onData: deadline.progress,
        });
      } catch (error) {
        throw deadline.timedOut() ?? error;
      } finally {
        deadline.signal.removeEventListener('abort', onAbort);
      }
    } finally {
      deadline.clear();
    }
  }

  private async imageId(image: string): Promise<string | null> {
    return withTimeout('image inspect', this.timeouts.call, () => this.docker.getImage(image).inspect())
      .then((info) => info.Id)
      .catch(() => null);
  }

  /** The image `previous` no longer named: removed, unless a container (a running build) uses it. */
  private async removeReplaced(previous: string | null, current: string): Promise<string | null> {
    if (!previous || previous === current) return null;
    return withTimeout('image remove', this.timeouts.remove, (abortSignal) =>
      this.docker.getImage(previous).remove({ abortSignal }),
    )
      .then(() => previous)
      .catch(() => null);
  }

  async commit(
    handle: ContainerHandle,
    image: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ imageId: string; replaced: string | null }> {
    const { repo, tag } = splitImageName(image);
    const previous = await this.imageId(image);
    const result = (await withTimeout(
      'commit',
      this.timeouts.commit,
      (abortSignal) =>
        this.docker
          .getContainer(handle.id)
          .commit({ repo, tag, changes: 'CMD ["/bin/sh"]', pause: true, abortSignal }),
      options.signal,
    )) as { Id: string };
    return { imageId: result.Id, replaced: await this.removeReplaced(previous, result.Id) };
  }

  async retag(from: string, image: string): Promise<{ replaced: string | null }> {
    const id = await this.imageId(from);
    if (!id) {
      if (await this.imageId(image)) return { replaced: null }; // done before
      throw new Error(`image ${from} not found`);
    }
    const previous = await this.imageId(image);
    const { repo, tag } = splitImageName(image);
    await withTimeout('image tag', this.timeouts.call, (abortSignal) =>
      this.docker.getImage(id).tag({ repo, tag, abortSignal }),
    );
    await this.removeImage(from);
    return { replaced: await this.removeReplaced(previous, id) };
  }

  async removeImage(image: string): Promise<void> {
    try {
      await withTimeout('image remove', this.timeouts.remove, (abortSignal) =>
        this.docker.getImage(image).remove({ abortSignal }),
      );
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async destroy(handle: ContainerHandle | string): Promise<void> {
    const id = typeof handle === 'string' ? handle : handle.id;
    this.firstSteps.delete(id);
    try {
      await withTimeout('container remove', this.timeouts.remove, (abortSignal) =>
        this.docker.getContainer(id).remove({ force: true, v: true, abortSignal }),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test((error as Error).message)) return;
      throw error;
    }
  }

  async pruneImages(): Promise<number> {
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
        await this.removeImage(name).then(
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

  async listManaged(instance = this.instance): Promise<ManagedContainer[]> {
    const containers = await withTimeout('list containers', this.timeouts.call, (abortSignal) =>
      this.docker.listContainers({
        all: true,
        filters: { label: [MANAGED_LABEL, `${INSTANCE_LABEL}=${instance}`] },
        abortSignal,
      }),
    );
    return containers.map((c) => {
      const label = c.Labels[BUILD_LABEL];
      return { id: c.Id, buildId: label && /^\d+$/.test(label) ? Number(label) : null };
    });
  }

  createVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    return this.volumes.create(name, labels);
  }

  hasVolume(name: string): Promise<boolean> {
    return this.volumes.has(name);
  }

  copyVolume(from: string, to: string, image: string, options: CopyVolumeOptions = {}): Promise<void> {
    return this.volumes.copy(from, to, image, options);
  }

  listVolumes(): Promise<VolumeUsage[]> {
    return this.volumes.list();
  }

  removeVolume(name: string): Promise<boolean> {
    return this.volumes.remove(name);
  }
}
