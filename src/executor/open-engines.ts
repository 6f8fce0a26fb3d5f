/**
 * The engines of the config, each with its executor: Docker through dockerode, behind the
 * registry when one is set (committed images pushed there, pulled by the engines that lack them).
 */
import type { EngineConfig } from '../domain/engine.js';
import { splitImageTemplate } from '../domain/base-image.js';
import { DockerExecutor } from './docker/docker-executor.js';
import { dockerFor } from './docker/engine-connection.js';
import { repoDigests } from './docker/image-transfer.js';
import { Engine } from './engine.js';
import { EnginePool, type HealthOptions } from './engine-pool.js';
import { RegistryClient } from './registry/registry-client.js';
import { RegistryExecutor, type TransferObserver } from './registry/registry-executor.js';

/** Placement probes (does this engine hold the image?) wait this long at most. */
const PROBE_TIMEOUT_MS = 5000;

export interface OpenedEngines {
  pool: EnginePool;
  registry: RegistryClient | null;
}

export function openEngines(
  configs: readonly EngineConfig[],
  options: {
    registry: string | null;
    instance: string;
    /** Image repositories of committed images (from the rules' `commit`). */
    committedRepos: readonly string[];
    health?: HealthOptions;
    observeTransfer?: TransferObserver;
  },
): OpenedEngines {
  const registry = options.registry ? new RegistryClient(options.registry) : null;
  const committed = new Set(options.committedRepos);
  const engines = configs.map((config) => {
    const docker = dockerFor(config);
    const local = new DockerExecutor(docker, options.instance);
    if (!registry) {
      const holds = async (image: string) => (await repoDigests(docker, image, PROBE_TIMEOUT_MS)) !== null;
      return new Engine(config.name, config.url, config.capacity, local, holds);
    }
    const executor = new RegistryExecutor(local, docker, registry, committed, options.observeTransfer);
    const holds = async (image: string) =>
      committed.has(splitImageTemplate(image).repo)
        ? executor.holdsCurrent(image, PROBE_TIMEOUT_MS)
        : (await repoDigests(docker, image, PROBE_TIMEOUT_MS)) !== null;
    return new Engine(config.name, config.url, config.capacity, executor, holds);
  });
  return { pool: new EnginePool(engines, options.health), registry };
}
