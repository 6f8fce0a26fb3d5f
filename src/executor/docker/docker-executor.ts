/** The Executor on a real Docker engine, through dockerode. */
import type { Duplex, Readable } from 'node:stream';
import Docker from 'dockerode';
import { splitImageName } from '../../domain/base-image.js';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  ExecutorUnavailable,
  MANAGED_LABEL,
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
import { ENGINE_TIMEOUTS, statusOf, withTimeout } from './engine-timeout.js';
import { containerOptions, envList, firstStepNoteArchive } from './container-config.js';
import { feedSource, readSourceNote } from './source-feed.js';
import { exitCodeAfterStream, MERGE_STDERR, readStepStream } from './step-stream.js';
import { copyFileOut, putArchive } from './container-files.js';
import { DockerImages } from './docker-images.js';
import { DockerVolumes } from './docker-volumes.js';

export class DockerExecutor implements Executor {
  private readonly volumes: DockerVolumes;
  private readonly images: DockerImages;
  /**
   * Containers made here with a first step that was not started again yet: `resume` puts the
   * note in (container-config.ts). Gone with the process, as are the containers (recovery).
   */
  private readonly firstSteps = new Set<string>();
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
    this.images = new DockerImages(docker, timeouts);
  }

  async ping(signal?: AbortSignal): Promise<void> {
    try {
      // dockerode takes the signal (its types omit the options): a ping that times out frees its
      // connection instead of leaving it open until the engine answers.
      const ping = this.docker.ping.bind(this.docker) as (options: {
        abortSignal: AbortSignal;
      }) => Promise<unknown>;
      await withTimeout('ping', this.timeouts.call, (abortSignal) => ping({ abortSignal }), signal);
    } catch (error) {
      throw new ExecutorUnavailable(`Docker engine not reachable: ${(error as Error).message}`);
    }
  }

  ensureImage(image: string, onProgress?: (line: string) => void): Promise<boolean> {
    return this.images.ensure(image, onProgress);
  }

  listTags(repo: string): Promise<string[]> {
    return this.images.listTags(repo);
  }

  async create(spec: ContainerSpec): Promise<ContainerHandle> {
    let made = spec;
    if (spec.firstStep?.sourceOnStdin && (await this.images.copiesSourceIn(spec.image)))
      made = { ...spec, firstStep: { ...spec.firstStep, sourceOnStdin: false } };
    const container = await withTimeout('create container', this.timeouts.call, (abortSignal) =>
      this.docker.createContainer({ ...containerOptions(made, this.instance), abortSignal }),
    );
    if (spec.firstStep) this.firstSteps.add(container.id);
    return { id: container.id, buildId: spec.buildId, sourceOnStdin: made.firstStep?.sourceOnStdin === true };
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
      this.images.lacksTar(image.name, image.id);
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

  putArchive(handle: ContainerHandle, path: string, tar: Readable): Promise<void> {
    return putArchive(this.docker.getContainer(handle.id), path, tar, this.timeouts.call);
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

  copyFileOut(
    handle: ContainerHandle,
    path: string,
    destination: string,
    options: CopyOutOptions,
  ): Promise<{ bytes: number }> {
    return copyFileOut(this.docker.getContainer(handle.id), path, destination, options, this.timeouts.call);
  }

  async commit(
    handle: ContainerHandle,
    image: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ imageId: string; replaced: string | null }> {
    const { repo, tag } = splitImageName(image);
    const previous = await this.images.id(image);
    const result = (await withTimeout(
      'commit',
      this.timeouts.commit,
      (abortSignal) =>
        this.docker
          .getContainer(handle.id)
          .commit({ repo, tag, changes: 'CMD ["/bin/sh"]', pause: true, abortSignal }),
      options.signal,
    )) as { Id: string };
    return { imageId: result.Id, replaced: await this.images.removeReplaced(previous, result.Id) };
  }

  retag(from: string, image: string): Promise<{ replaced: string | null }> {
    return this.images.retag(from, image);
  }

  removeImage(image: string): Promise<void> {
    return this.images.remove(image);
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

  pruneImages(): Promise<number> {
    return this.images.prune();
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
