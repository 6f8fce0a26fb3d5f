/** Deliveries listed newest first (/api/deliveries, the monitor), keyset-paged on arrival time. */
import type { Kysely } from 'kysely';
import type { DeliveryPage } from '../store.js';
import { toDelivery } from './rows.js';
import type { Database } from './schema.js';

/** A cursor is `<received_at>|<delivery id>` of the last delivery shown: stable while new ones arrive. */
export function deliveryCursor(receivedAt: string, deliveryId: string): string {
  return `${receivedAt}|${deliveryId}`;
}

export async function listDeliveries(
  db: Kysely<Database>,
  { limit, before }: { limit: number; before?: string },
): Promise<DeliveryPage> {
  let query = db
    .selectFrom('deliveries')
    .selectAll()
    // A claim of a build still being created is not a delivery's outcome yet.
    .where('outcome', '!=', 'pending')
    .orderBy('received_at', 'desc')
    .orderBy('delivery_id', 'desc')
    .limit(limit + 1);
  if (before !== undefined) {
    const cut = before.indexOf('|');
    const at = cut < 0 ? before : before.slice(0, cut);
    const id = cut < 0 ? '' : before.slice(cut + 1);
    query = query.where((eb) =>
      eb.or([eb('received_at', '<', at), eb.and([eb('received_at', '=', at), eb('delivery_id', '<', id)])]),
    );
  }
  const rows = await query.execute();
  const deliveries = rows.slice(0, limit).map(toDelivery);
  const last = deliveries.at(-1);
  return {
    deliveries,
    nextBefore: rows.length > limit && last ? deliveryCursor(last.receivedAt, last.deliveryId) : null,
  };
}
