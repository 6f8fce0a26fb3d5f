/**
 * URL parameters every route reads the same way, answered from the error table when malformed.
 * Their shapes are in domain/identifiers.ts (the webhook parser and the API bodies use them too).
 */
import { BUILD_ID } from '../domain/identifiers.js';
import { AppError } from '../errors.js';

export function parseBuildId(raw: string): number {
  if (!BUILD_ID.test(raw)) throw new AppError('BAD_REQUEST', 'build id must be a positive integer');
  return Number(raw);
}
