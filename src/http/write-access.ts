/**
 * Who may use the write endpoints (trigger, cancel, rebuild, pause, resume). With API tokens
 * configured: whoever sends `Authorization: Bearer <one of them>`. With none: only clients on this
 * machine, so an unconfigured service on 0.0.0.0 is not open to the network or to its own builds.
 * The webhook secret is never an API token, nor the reverse.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 and ::1, also written as IPv4-mapped IPv6 (`::ffff:127.0.0.1`, a dual-stack socket). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  return isIPv4(ip) ? LOOPBACK.check(ip, 'ipv4') : LOOPBACK.check(ip, 'ipv6');
}

/** `localhost`, `127.x.y.z` or `[::1]`, with or without a port. */
function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  return name === 'localhost' || isLoopback(name);
}

/**
 * Whether a request comes from this machine, judged on what a client cannot forge from elsewhere:
 * - the TCP peer is loopback, never a forwarding header (those are written by the client); a
 *   request that carries one came through a proxy, so its loopback peer says nothing;
 * - the `Host` it asked for is loopback too: a reverse proxy that forwards `Host` (and no
 *   forwarding header) and a DNS-rebinding page both send another name;
 * - a browser request is same-origin: a page of any other site open in the operator's browser can
 *   send a simple POST to 127.0.0.1 (CSRF); browsers say where it came from in `Sec-Fetch-Site`
 *   and `Origin`, which scripts in a page cannot change.
 */
export function isLocalClient(request: FastifyRequest): boolean {
  const forwarded = ['forwarded', 'x-forwarded-for', 'x-real-ip'].some(
    (h) => request.headers[h] !== undefined,
  );
  if (forwarded || !isLoopback(request.socket.remoteAddress)) return false;
  if (!isLoopbackHost(request.headers.host)) return false;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    try {
      if (!isLoopbackHost(new URL(origin).host)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function bearer(request: FastifyRequest): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match ? match[1]! : null;
}

/** Throws the table's UNAUTHORIZED / FORBIDDEN when `request` may not write. */
export function checkWriteAccess(apiTokens: readonly string[], request: FastifyRequest): void {
  if (apiTokens.length === 0) {
    if (isLocalClient(request)) return;
    throw new AppError(
      'FORBIDDEN',
      'no API token is configured, so write endpoints answer only clients on the service host; set API_TOKEN to allow others',
    );
  }
  const given = bearer(request);
  // Every token is compared (constant time each), so timing does not tell which one nearly matched.
  const matches = given === null ? [] : apiTokens.filter((t) => timingSafeEqual(digest(t), digest(given)));
  if (matches.length === 0)
    throw new AppError('UNAUTHORIZED', 'this endpoint needs "Authorization: Bearer <API token>"');
}

/** Whether the build page may offer cancel/rebuild without asking the reader for a token. */
export function writesOpenTo(apiTokens: readonly string[], request: FastifyRequest): boolean {
  return apiTokens.length === 0 && isLocalClient(request);
}

/**
 * Registers `routes` in their own encapsulated context whose one hook checks write access. The
 * hook runs at onRequest, before the body is read: a refused client cannot make the service
 * buffer a 25 MB body first.
 */
export function registerWriteRoutes(
  app: FastifyInstance,
  apiTokens: readonly string[],
  routes: (writes: FastifyInstance) => void,
): void {
  void app.register(async (writes) => {
    writes.addHook('onRequest', async (request) => checkWriteAccess(apiTokens, request));
    routes(writes);
  });
}
