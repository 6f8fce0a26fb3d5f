/** The Executor on a real Docker engine, through dockerode. */
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { splitImageName } from '../../domain/base-image.js';
import { capabilitySets, DEFAULT_MEMORY_BYTES, DEFAULT_PIDS_LIMIT } from '../../domain/limits.js';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  ExecutorUnavailable,
  FileRefused,
  MANAGED_LABEL,
  PENDING_REPOSITORY,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type Executor,
  type ManagedContainer,
  type CopyVolumeOptions,
  type VolumeUsage,
} from '../executor.js';
import { ENGINE_TIMEOUTS, idleDeadline, withTimeout } from './engine-timeout.js';
import { FrameDemuxer } from './frame-demuxer.js';
import { pullImage, repoDigests } from './image-transfer.js';
import { readFileEntry } from '../read-file-entry.js';
import { DockerVolumes } from './docker-volumes.js';

/** Waits for exec without running anything of its own; exits on SIGTERM. */
const IDLE_COMMAND = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

/**
 * How long an exec may still show as running after its output stream ended: the engine records
 * the exit code before it closes the streams, this only absorbs a slow engine.
 */
const STREAM_END_GRACE_MS = 2000;

/** Prepended to every step: its stderr goes to the same pipe as its stdout. */
const MERGE_STDERR = 'exec 2>&1\n';

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

export class DockerExecutor implements Executor {
  private readonly volumes: DockerVolumes;
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
    if ((await repoDigests(this.docker, image, this.timeouts.call)) !== null) return true;
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

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    const caps = capabilitySets(spec.capAdd ?? []);
    const container = await withTimeout('create container', this.timeouts.call, (abortSignal) =>
      this.docker.createContainer({
        Image: spec.image,
        Entrypoint: [],
        Cmd: IDLE_COMMAND,
        Env: envList(spec.env),
        WorkingDir: spec.workingDir,
        Labels: {
          [MANAGED_LABEL]: 'true',
          [BUILD_LABEL]: String(spec.buildId),
          [INSTANCE_LABEL]: this.instance,
        },
        HostConfig: {
          NetworkMode: spec.network,
          Memory: spec.memoryBytes ?? DEFAULT_MEMORY_BYTES,
          PidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
          // setuid binaries a build drops into its image cannot raise its privileges.
          SecurityOpt: ['no-new-privileges'],
          CapDrop: caps.drop,
          CapAdd: caps.add,
          // Anonymous volumes: fresh for each container, not committed, not on any host path we use.
          Mounts: [
            ...(spec.volumes ?? []).map((target) => ({
              Type: 'volume' as const,
              Source: '',
              Target: target,
              // Typed as if labels and a driver were required; the engine needs neither.
              VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
            })),
            // Named caches (createVolume made them). A read-only one is never written, not even by
            // the engine's copy of the image's files into an empty volume.
            ...(spec.caches ?? []).map((cache) => ({
              Type: 'volume' as const,
              Source: cache.volume,
              Target: cache.target,
              ReadOnly: cache.readOnly,
              ...(cache.readOnly
                ? { VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] }
                : {}),
            })),
          ],
          Init: false,
        },
        abortSignal,
      }),
    );
    const handle = { id: container.id, buildId: spec.buildId };
    try {
      await withTimeout('start container', this.timeouts.call, (abortSignal) =>
        container.start({ abortSignal }),
      );
    } catch (error) {
      await this.destroy(handle).catch(() => undefined);
      throw error;
    }
    return handle;
  }

  async putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    await this.docker.getContainer(handle.id).putArchive(tar, { path });
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
    let outputError: unknown = null;
    const demuxer = new FrameDemuxer((payload, kind) => {
      try {
        options.onOutput(payload, kind);
      } catch (error) {
        // A throwing consumer ends this exec with an error; it must not escape a stream event.
        outputError ??= error;
        stream.destroy();
      }
    });
    const onAbort = () => {
      withTimeout('kill', this.timeouts.call, (abortSignal) => container.kill({ abortSignal })).catch(
        () => undefined,
      );
      stream.destroy();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the exec was being created or started: the listener above will never fire.
    if (options.signal?.aborted) onAbort();
    try {
      await new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (options.signal?.aborted) return 137;
    if (outputError) throw outputError;
    return this.exitCode(exec);
  }

  /**
   * The exit code once the output stream has ended. A stream that ends while the command still
   * runs was cut (engine restarted, connection dropped): that is an engine error, not the step's.
   */
  private async exitCode(exec: Docker.Exec): Promise<number> {
    const deadline = Date.now() + STREAM_END_GRACE_MS;
    for (;;) {
      const info = await withTimeout('exec inspect', this.timeouts.call, (abortSignal) =>
        exec.inspect({ abortSignal }),
      );
      if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
      if (Date.now() >= deadline) {
        throw new Error('the output stream of the step ended while the step was still running');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
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
