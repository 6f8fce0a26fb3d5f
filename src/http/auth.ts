/** Write endpoints need `Authorization: Bearer <token>` when a token is configured. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function tokenMatches(token: string, given: string): boolean {
  return timingSafeEqual(digest(token), digest(given));
}

export function requireToken(token: string, request: FastifyRequest): void {
  if (!token) return;
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match || !tokenMatches(token, match[1]!.trim())) {
    throw new AppError('UNAUTHORIZED', 'this endpoint needs "Authorization: Bearer <token>"');
  }
}
