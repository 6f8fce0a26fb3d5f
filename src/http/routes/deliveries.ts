/**
 * `GET /api/deliveries`: the webhook deliveries received, newest first, each with what it was
 * about and what came of it (a build, ignored and why, refused and why). GitHub shows the same
 * list under the hook's "Recent deliveries"; this is the service's side of it.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { Delivery } from '../../store/store.js';
import type { AppDeps } from '../app-deps.js';

const CURSOR = /^[0-9T:.Z+-]{10,40}\|[A-Za-z0-9-]{0,100}$/;

export function parseDeliveryPage(
  query: { limit?: string; cursor?: string },
  defaultLimit: number,
): { limit: number; before?: string } {
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  if (!/^\d{1,4}$/.test(query.limit ?? '1') || limit < 1 || limit > 500)
    throw new AppError('BAD_REQUEST', 'limit must be 1-500');
  if (query.cursor !== undefined && !CURSOR.test(query.cursor))
    throw new AppError('BAD_REQUEST', 'cursor must be the value of a `next` link');
  return { limit, before: query.cursor };
}

/** One line for people: "build #12", "ignored: …", "refused: …". */
export function deliveryOutcome(delivery: Delivery): string {
  if (delivery.outcome === 'build') return `build #${delivery.buildId}`;
  return `${delivery.outcome}: ${delivery.reason ?? ''}`;
}

export function registerDeliveryRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { limit?: string; cursor?: string } }>('/api/deliveries', async (request, reply) => {
    const { limit, before } = parseDeliveryPage(request.query, 50);
    const page = await deps.store.listDeliveries({ limit, before });
    const base = `${deps.config.publicUrl}/api/deliveries`;
    const next =
      page.nextBefore === null
        ? null
        : `${base}?limit=${limit}&cursor=${encodeURIComponent(page.nextBefore)}`;
    if (next) void reply.header('link', `<${next}>; rel="next"`);
    return {
      deliveries: page.deliveries.map((d) => ({
        ...d,
        summary: deliveryOutcome(d),
        build: d.buildId === null ? null : `${deps.config.publicUrl}/api/builds/${d.buildId}`,
      })),
      next,
    };
  });
}
