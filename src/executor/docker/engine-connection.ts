/** A dockerode client for an engine URL: unix:// socket, tcp:// (TLS when given) or ssh://. */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import type { EngineConfig } from '../../domain/engine.js';

/** First keepalive probe after this much idle time on a connection to a tcp:// engine. */
const KEEPALIVE_MS = 15_000;

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
  // TCP keepalive on every connection, exec and attach streams included: a remote engine that
  // vanishes (host down, cable cut) ends the stream instead of leaving it open for ever.
  const keepAlive = { keepAlive: true, keepAliveMsecs: KEEPALIVE_MS };
  if (!engine.tls)
    return new Docker({
      host: url.hostname,
      port: Number(url.port),
      protocol: 'http',
      agent: new HttpAgent(keepAlive),
    } as Docker.DockerOptions);
  // Read once at start: a missing certificate is a start-up error, not a build failure.
  const tls = {
    ca: readFileSync(engine.tls.ca),
    cert: readFileSync(engine.tls.cert),
    key: readFileSync(engine.tls.key),
  };
  return new Docker({
    host: url.hostname,
    port: Number(url.port),
    protocol: 'https',
    ...tls,
    agent: new HttpsAgent({ ...keepAlive, ...tls }),
    // docker-modem passes `agent` on to each request; its typings lack it.
  } as Docker.DockerOptions);
}
