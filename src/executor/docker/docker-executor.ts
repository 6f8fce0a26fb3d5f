/** The Executor on a real Docker engine, through dockerode. */
import { PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  ExecutorUnavailable,
  FileRefused,
  MANAGED_LABEL,
  type ContainerHandle,
  type ContainerSpec,
  type CopyOutOptions,
  type ExecOptions,
  type Executor,
  type ManagedContainer,
} from '../executor.js';
import { readFileEntry } from '../read-file-entry.js';
import { ENGINE_CALL_TIMEOUT_MS, idleDeadline } from './engine-deadline.js';

/** Waits for exec without running anything of its own; exits on SIGTERM. */
const IDLE_COMMAND = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

export class DockerExecutor implements Executor {
  /** Idle deadline of the Engine API calls that have one (tests shorten it). */
  callTimeoutMs = ENGINE_CALL_TIMEOUT_MS;

  /**
   * `instance` names this service (see serviceInstance()), so that two services sharing one
   * engine never remove each other's containers as leftovers.
   */
  constructor(
    private readonly docker: Docker = new Docker(),
    private readonly instance = 'default',
  ) {}

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw new ExecutorUnavailable(`Docker engine not reachable: ${(error as Error).message}`);
    }
  }

  async ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(
          stream,
          (err) => (err ? reject(err) : resolve()),
          (event: { status?: string; id?: string }) =>
            onProgress?.(`${event.id ?? ''} ${event.status ?? ''}`.trim()),
        ),
      );
      return true;
    } catch (error) {
      onProgress?.(`pull failed: ${(error as Error).message}`);
      return false;
    }
  }

  async listTags(repo: string): Promise<string[]> {
    const images = await this.docker.listImages({ filters: { reference: [repo] } });
    return images
      .flatMap((image) => image.RepoTags ?? [])
      .filter((tag) => tag.startsWith(`${repo}:`))
      .map((tag) => tag.slice(repo.length + 1));
  }

  async start(spec: ContainerSpec): Promise<ContainerHandle> {
    const container = await this.docker.createContainer({
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
        Memory: spec.memoryBytes,
        // Anonymous volumes: fresh for each container, not committed, not on any host path we use.
        Mounts: (spec.volumes ?? []).map((target) => ({
          Type: 'volume' as const,
          Source: '',
          Target: target,
          // Typed as if labels and a driver were required; the engine needs neither.
          VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
        })),
        Init: false,
      },
    });
    const handle = { id: container.id, buildId: spec.buildId };
    try {
      await container.start();
    } catch (error) {
      await this.destroy(handle);
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
    const exec = await container.exec({
      Cmd: ['sh', '-c', command],
      Env: envList(options.env ?? {}),
      WorkingDir: options.workingDir,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (chunk: Buffer) => options.onOutput(chunk, 'stdout'));
    stderr.on('data', (chunk: Buffer) => options.onOutput(chunk, 'stderr'));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const onAbort = () => {
      container.kill().catch(() => undefined);
      stream.destroy();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (options.signal?.aborted) return 137;
    const info = await exec.inspect();
    return info.ExitCode ?? 137;
  }

  async copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    const deadline = idleDeadline(`copying ${path}`, this.callTimeoutMs, options.signal);
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

  async commit(
    handle: ContainerHandle,
    image: string,
  ): Promise<{ imageId: string; replaced: string | null }> {
    const colon = image.lastIndexOf(':');
    const repo = colon > image.lastIndexOf('/') ? image.slice(0, colon) : image;
    const tag = colon > image.lastIndexOf('/') ? image.slice(colon + 1) : 'latest';
    const previous = await this.docker
      .getImage(image)
      .inspect()
      .then((info) => info.Id)
      .catch(() => null);
    const result = (await this.docker
      .getContainer(handle.id)
      .commit({ repo, tag, changes: 'CMD ["/bin/sh"]', pause: true })) as { Id: string };
    let replaced: string | null = null;
    if (previous && previous !== result.Id) {
      // The old image is now dangling; an incremental build may still run on it (409), then it stays.
      replaced = await this.docker
        .getImage(previous)
        .remove()
        .then(() => previous)
        .catch(() => null);
    }
    return { imageId: result.Id, replaced };
  }

  async destroy(handle: ContainerHandle | string): Promise<void> {
    const id = typeof handle === 'string' ? handle : handle.id;
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test((error as Error).message)) return;
      throw error;
    }
  }

  async pruneImages(): Promise<number> {
    const result = await this.docker.pruneImages({ filters: { dangling: ['true'], label: [MANAGED_LABEL] } });
    return result.ImagesDeleted?.filter((entry) => entry.Deleted).length ?? 0;
  }

  async listManaged(): Promise<ManagedContainer[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [MANAGED_LABEL, `${INSTANCE_LABEL}=${this.instance}`] },
    });
    return containers.map((c) => {
      const label = c.Labels[BUILD_LABEL];
      return { id: c.Id, buildId: label && /^\d+$/.test(label) ? Number(label) : null };
    });
  }
}
