/** A dockerode client for an engine URL: unix:// socket, tcp:// (TLS when given) or ssh://. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import type { EngineConfig } from '../../domain/engine.js';

/** First keepalive probe after this much idle time on a connection to a tcp:// engine. */
const KEEPALIVE_MS = 15_000;
/** An ssh:// engine's login (TCP connect, key exchange, auth) fails past this. */
const SSH_READY_TIMEOUT_MS = 10_000;
/** SSH keepalives on each connection; this many unanswered ones end it (a vanished host). */
const SSH_KEEPALIVE_MAX = 3;

/** `SHA256:…` of a host key, as `ssh-keygen -lf` prints it (base64 without padding). */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * ssh2's options for an ssh:// engine (docker-modem opens one ssh connection per request and
 * runs `docker system dial-stdio` there). The key is read once at start (a missing file is a
 * start-up error); without one the ssh-agent logs in, as for `docker -H ssh://…`. A pinned host
 * key refuses any other host.
 */
function sshOptions(engine: EngineConfig): Record<string, unknown> {
  const { key, hostKey } = engine.ssh ?? {};
  return {
    ...(key ? { privateKey: readFileSync(key) } : { agent: process.env.SSH_AUTH_SOCK }),
    ...(hostKey ? { hostVerifier: (raw: Buffer) => sshFingerprint(raw) === hostKey } : {}),
    readyTimeout: SSH_READY_TIMEOUT_MS,
    keepaliveInterval: KEEPALIVE_MS,
    keepaliveCountMax: SSH_KEEPALIVE_MAX,
  };
}

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
      sshOptions: sshOptions(engine),
    } as Docker.DockerOptions);
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
