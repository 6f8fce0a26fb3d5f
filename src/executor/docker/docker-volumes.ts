/**
 * Named cache volumes on a Docker engine (the Executor's volume calls; docker-executor.ts
 * delegates here). Every Engine API call has a deadline, as everywhere in the executor.
 */
import type Docker from 'dockerode';
import { capabilitySets, DEFAULT_MEMORY_BYTES, DEFAULT_PIDS_LIMIT } from '../../domain/limits.js';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  MANAGED_LABEL,
  type CopyVolumeOptions,
  type VolumeUsage,
} from '../executor.js';
import { ENGINE_TIMEOUTS, statusOf, withTimeout } from './engine-timeout.js';

/** Where the copy container sees the two volumes. */
const FROM = '/autobuilder-seed-from';
const TO = '/autobuilder-seed-to';

/** Raw `/system/df` volume entry (dockerode types it as `any`). */
interface DfVolume {
  Name: string;
  Labels: Record<string, string> | null;
  CreatedAt?: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

export class DockerVolumes {
  constructor(
    private readonly docker: Docker,
    private readonly instance: string,
    private readonly timeouts: typeof ENGINE_TIMEOUTS,
  ) {}

  async has(name: string): Promise<boolean> {
    try {
      await withTimeout('volume inspect', this.timeouts.call, (abortSignal) =>
        this.docker.getVolume(name).inspect({ abortSignal }),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async create(name: string, labels: Record<string, string>): Promise<boolean> {
    if (await this.has(name)) return false;
    await withTimeout('volume create', this.timeouts.call, (abortSignal) =>
      this.docker.createVolume({
        Name: name,
        Labels: { ...labels, [MANAGED_LABEL]: 'true', [INSTANCE_LABEL]: this.instance },
        abortSignal,
      } as Docker.VolumeCreateOptions),
    );
    return true;
  }

  async copy(
    from: string,
    to: string,
    image: string,
    { signal, buildId }: CopyVolumeOptions = {},
  ): Promise<void> {
    const caps = capabilitySets([]);
    const container = await withTimeout('create container', this.timeouts.call, (abortSignal) =>
      this.docker.createContainer({
        Image: image,
        Entrypoint: [],
        // `cp -a` keeps owners, modes, links and times; root so that every file can be read.
        Cmd: ['sh', '-c', `cp -a ${FROM}/. ${TO}/`],
        User: '0:0',
        Labels: {
          [MANAGED_LABEL]: 'true',
          [INSTANCE_LABEL]: this.instance,
          ...(buildId === undefined ? {} : { [BUILD_LABEL]: String(buildId) }),
        },
        NetworkDisabled: true,
        HostConfig: {
          NetworkMode: 'none',
          Memory: DEFAULT_MEMORY_BYTES,
          PidsLimit: DEFAULT_PIDS_LIMIT,
          SecurityOpt: ['no-new-privileges'],
          CapDrop: caps.drop,
          Mounts: [
            { Type: 'volume', Source: from, Target: FROM, ReadOnly: true },
            { Type: 'volume', Source: to, Target: TO },
          ],
        },
        abortSignal,
      }),
    );
    try {
      await withTimeout('start container', this.timeouts.call, (abortSignal) =>
        container.start({ abortSignal }),
      );
      // A cache can hold gigabytes: the copy gets the commit's deadline, and the build's signal.
      const result = (await withTimeout(
        'copying a cache volume',
        this.timeouts.commit,
        (abortSignal) => container.wait({ abortSignal }),
        signal,
      )) as { StatusCode: number };
      if (result.StatusCode !== 0) {
        const logs = await withTimeout('container logs', this.timeouts.call, (abortSignal) =>
          container.logs({ stdout: true, stderr: true, tail: 5, abortSignal }),
        ).catch(() => Buffer.alloc(0));
        // Multiplexed frames: keep the printable text only.
        const text = logs
          .toString('utf8')
          .replace(/[^\x20-\x7e\n]/g, '')
          .trim();
        throw new Error(`copying cache ${from} to ${to} exited with ${result.StatusCode}: ${text}`);
      }
    } finally {
      await withTimeout('container remove', this.timeouts.remove, (abortSignal) =>
        container.remove({ force: true, abortSignal }),
      ).catch(() => undefined);
    }
  }

  async list(): Promise<VolumeUsage[]> {
    // `/system/df` is the one call that reports volume sizes; it measures every volume (slow on a
    // big host), hence the longer deadline.
    const df = (await withTimeout('system df', this.timeouts.remove, (abortSignal) =>
      (this.docker.df as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal }),
    )) as { Volumes?: DfVolume[] | null };
    return (df.Volumes ?? [])
      .filter((v) => v.Labels?.[MANAGED_LABEL] === 'true' && v.Labels[INSTANCE_LABEL] === this.instance)
      .map((v) => ({
        name: v.Name,
        labels: v.Labels ?? {},
        sizeBytes: v.UsageData && v.UsageData.Size >= 0 ? v.UsageData.Size : null,
        refCount: v.UsageData && v.UsageData.RefCount >= 0 ? v.UsageData.RefCount : null,
        createdAt: v.CreatedAt ?? null,
      }));
  }

  async remove(name: string): Promise<boolean> {
    try {
      await withTimeout('volume remove', this.timeouts.remove, (abortSignal) =>
        this.docker.getVolume(name).remove({ abortSignal }),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }
}
