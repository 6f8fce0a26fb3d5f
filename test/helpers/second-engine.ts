/**
 * A second Docker engine and a loopback registry for the engines tests (scripts/start-second-engine.sh,
 * scripts/start-registry.sh). `.ci/run` starts both and exports AUTOBUILDER_TEST_ENGINE2 and
 * AUTOBUILDER_TEST_REGISTRY; without them the scripts are run here. Under CI=true a missing one
 * fails the test; elsewhere the suite is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';

const SCRIPTS = join(import.meta.dirname, '..', '..', 'scripts');

export interface SecondEngine {
  url: string;
  docker: Docker;
  registry: string;
  /** The same engine over TCP with TLS (client certificates in `tls`). */
  tlsUrl: string;
  tls: { ca: string; cert: string; key: string };
  /** The engine's dockerd process id (to kill it). */
  pid(): number;
  /** Starts the engine again (after a kill); resolves once it answers. */
  restart(): void;
}

function run(script: string, args: string[] = []): string {
  return execFileSync('bash', [join(SCRIPTS, script), ...args], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
}

/** The engine and registry, or a reason they are missing (an error under CI=true). */
export function secondEngine(): SecondEngine | string {
  try {
    const url = process.env.AUTOBUILDER_TEST_ENGINE2 || run('start-second-engine.sh');
    const registry = process.env.AUTOBUILDER_TEST_REGISTRY || run('start-registry.sh');
    const socket = new URL(url).pathname;
    const dir = dirname(socket);
    return {
      url,
      registry,
      tlsUrl: `tcp://127.0.0.1:${process.env.ENGINE2_TLS_PORT || 23760}`,
      tls: {
        ca: join(dir, 'tls', 'ca.pem'),
        cert: join(dir, 'tls', 'cert.pem'),
        key: join(dir, 'tls', 'key.pem'),
      },
      docker: new Docker({ socketPath: socket }),
      pid: () => Number(readFileSync(join(dir, 'docker.pid'), 'utf8').trim()),
      restart: () => void run('start-second-engine.sh', [dir]),
    };
  } catch (error) {
    const reason = `a second Docker engine and a registry are needed (.ci/run starts them): ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(reason, { cause: error });
    return reason;
  }
}
