/** A dockerode client for an engine URL: unix:// socket, tcp:// (TLS when given) or ssh://. */
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { EngineConfig } from '../../domain/engine.js';

export function dockerFor(engine: EngineConfig): Docker {
  if (engine.fromEnvironment) return new Docker();
  const url = new URL(engine.url);
  if (url.protocol === 'unix:') return new Docker({ socketPath: decodeURIComponent(url.pathname) });
  if (url.protocol === 'ssh:')
    return new Docker({
      protocol: 'ssh',
      host: url.hostname,
      port: url.port ? Number(url.port) : 22,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      // The key comes from the service user's ssh-agent, as for `docker -H ssh://…`.
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    });
  if (!engine.tls) return new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http' });
  // Read once at start: a missing certificate is a start-up error, not a build failure.
  return new Docker({
    host: url.hostname,
    port: Number(url.port),
    protocol: 'https',
    ca: readFileSync(engine.tls.ca),
    cert: readFileSync(engine.tls.cert),
    key: readFileSync(engine.tls.key),
  });
}
