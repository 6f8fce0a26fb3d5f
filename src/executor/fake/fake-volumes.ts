/**
 * The fake engine's cache volumes (fake-executor.ts): in memory, labelled, counted as mounted by
 * the containers whose spec names them (a mounted volume is not removed, as on the engine), and
 * copied file by file (the engine's copy runs a container of `image`, which must exist).
 */
import type { VolumeUsage } from '../executor.js';
import type { FakeContainer, FakeVolume } from './fake-files.js';

export class FakeVolumes {
  constructor(
    private readonly volumes: Map<string, FakeVolume>,
    private readonly engine: {
      containers: () => Iterable<FakeContainer>;
      hasImage: (image: string) => boolean;
      ping: () => Promise<void>;
    },
  ) {}

  async create(name: string, labels: Record<string, string>): Promise<boolean> {
    await this.engine.ping();
    if (this.volumes.has(name)) return false;
    this.volumes.set(name, { labels: { ...labels }, files: new Map(), createdAt: new Date().toISOString() });
    return true;
  }

  async has(name: string): Promise<boolean> {
    await this.engine.ping();
    return this.volumes.has(name);
  }

  async copy(from: string, to: string, image: string): Promise<void> {
    await this.engine.ping();
    const source = this.volumes.get(from);
    const target = this.volumes.get(to);
    if (!source || !target) throw new Error(`No such volume: ${source ? to : from}`);
    if (!this.engine.hasImage(image)) throw new Error(`No such image: ${image}`);
    for (const [path, entry] of source.files) target.files.set(path, { ...entry });
  }

  private mounts(name: string): number {
    return [...this.engine.containers()].filter((c) => c.spec.caches?.some((m) => m.volume === name)).length;
  }

  async list(): Promise<VolumeUsage[]> {
    await this.engine.ping();
    return [...this.volumes].map(([name, volume]) => ({
      name,
      labels: { ...volume.labels },
      sizeBytes: [...volume.files.values()].reduce((sum, entry) => sum + entry.content.length, 0),
      refCount: this.mounts(name),
      createdAt: volume.createdAt,
    }));
  }

  async remove(name: string): Promise<boolean> {
    await this.engine.ping();
    if (this.mounts(name) > 0) return false;
    this.volumes.delete(name);
    return true;
  }
}
