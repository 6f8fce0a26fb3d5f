/**
 * What replicas tell each other over PostgreSQL NOTIFY (docs/scale-out.md, "Shared live view").
 * A payload is small JSON, never log text (NOTIFY payloads are limited to 8000 bytes):
 *   `{"v":1,"i":"<sender>","k":"build","b":42}`                 build 42 changed: read it from the store
 *   `{"v":1,"i":"<sender>","k":"log","b":42,"f":1024,"t":5120}` build 42's log grew from byte f to t
 * `i` names the sending process, so a replica skips what it sent itself.
 */
import { z } from 'zod';

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const sender = z.string().min(1).max(80);
const message = z.discriminatedUnion('k', [
  z.object({ v: z.literal(1), i: sender, k: z.literal('build'), b: id }),
  z.object({ v: z.literal(1), i: sender, k: z.literal('log'), b: id, f: offset, t: offset }),
]);

export type RelayMessage = z.infer<typeof message>;

export function encodeRelayMessage(m: RelayMessage): string {
  return JSON.stringify(m);
}

/** The message, or null for anything else on the channel (another version, a stray NOTIFY). */
export function decodeRelayMessage(payload: string): RelayMessage | null {
  try {
    const parsed = message.safeParse(JSON.parse(payload));
    if (!parsed.success) return null;
    return parsed.data.k === 'log' && parsed.data.f > parsed.data.t ? null : parsed.data;
  } catch {
    return null;
  }
}
