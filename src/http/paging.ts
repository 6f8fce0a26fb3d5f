/**
 * Keyset paging for lists that grow without bound (`?limit=&cursor=`): the cursor is the id of the
 * last build on the page, so a page never shifts when builds are added or leave the list.
 */
import { BUILD_ID } from '../domain/identifiers.js';
import type { FastifyReply } from 'fastify';
import { AppError } from '../errors.js';

export interface PageQuery {
  limit?: string;
  cursor?: string;
}

export interface PageRequest {
  limit: number;
  cursor: number | undefined;
}

export function parsePage(query: PageQuery, defaultLimit: number, maxLimit: number): PageRequest {
  const limit = query.limit === undefined ? defaultLimit : Number(query.limit);
  if (!/^\d{1,6}$/.test(query.limit ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > maxLimit)
    throw new AppError('BAD_REQUEST', `limit must be 1-${maxLimit}`);
  if (query.cursor !== undefined && !BUILD_ID.test(query.cursor))
    throw new AppError('BAD_REQUEST', 'cursor must be the value of a `next` link (a build id)');
  return { limit, cursor: query.cursor === undefined ? undefined : Number(query.cursor) };
}

/** The URL of the next page, also sent as a `Link: <…>; rel="next"` header; null on the last page. */
export function nextPage(
  reply: FastifyReply,
  base: string,
  limit: number,
  cursor: number | null,
): string | null {
  if (cursor === null) return null;
  const url = `${base}?limit=${limit}&cursor=${cursor}`;
  void reply.header('link', `<${url}>; rel="next"`);
  return url;
}
