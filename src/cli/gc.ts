/**
 * `autobuilder gc`: retention applied now, as the service applies it on its schedule: old logs and
 * kernels, dangling images of ours, old registry tags, and build caches on every engine.
 */
import { collectGarbage } from '../artifacts/retention.js';
import { pruneCaches } from '../artifacts/cache-retention.js';
import type { Config } from '../config/config.js';
import { serviceInstance } from '../config/service-instance.js';
import { formatSize } from '../domain/duration.js';
import { dockerFor } from '../executor/docker/engine-connection.js';
import { DockerExecutor } from '../executor/docker/docker-executor.js';
import { RegistryClient } from '../executor/registry/registry-client.js';
import { openStore } from '../store/open-store.js';

/** Against the registry: each request waits this long at most (a hung registry is reported). */
const GC_REGISTRY_TIMEOUT_MS = 10_000;

/** Keeps `keep` builds per repository and ref; reports what went on stdout, problems on stderr. */
export async function collectAll(config: Config, keep: number): Promise<void> {
  const store = await openStore(config.databaseUrl);
  const executor = new DockerExecutor(undefined, serviceInstance(config));
  const engine = await executor.ping().then(
    () => executor,
    (error: Error) => {
      process.stderr.write(`autobuilder: ${error.message}; images are left alone\n`);
      return null;
    },
  );
  try {
    const result = await collectGarbage({
      store,
      executor: engine,
      kernelTarget: config.kernelTarget,
      keep,
      registry: config.registry
        ? {
            client: new RegistryClient(config.registry, GC_REGISTRY_TIMEOUT_MS),
            imageAgeMs: config.retention.imageAgeMs,
          }
        : null,
    });
    for (const problem of result.problems) process.stderr.write(`autobuilder: retention: ${problem}\n`);
    // Caches on every configured engine; one that does not answer keeps its caches.
    const caches = await pruneCaches({
      engines: config.engines.map((e) => ({
        name: e.name,
        executor: new DockerExecutor(dockerFor(e), serviceInstance(config)),
      })),
      store,
      rules: config.rules,
      instance: serviceInstance(config),
      maxBytes: config.caches.maxBytes,
      maxAgeMs: config.caches.maxAgeMs,
      onProblem: (name, error) =>
        process.stderr.write(
          `autobuilder: engine ${name}: ${(error as Error).message}; its caches are left alone\n`,
        ),
    });
    process.stdout.write(
      `pruned ${result.builds} builds: ${result.logs} logs, ${result.kernels} kernels, ${result.images} images` +
        (config.registry ? `, ${result.tags} registry tags` : '') +
        `, ${caches.caches} caches (${formatSize(caches.bytes)})\n`,
    );
  } finally {
    await store.close();
  }
}
