/**
 * Bodies are kept raw (a Buffer) so webhook signatures are checked over the exact bytes GitHub
 * signed; handlers parse them with these helpers.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** GitHub caps webhook payloads at 25 MB. */
export const BODY_LIMIT = 25 * 1024 * 1024;

export function registerRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
}

export function parseJson(raw: unknown): unknown {
  if (!Buffer.isBuffer(raw) || raw.length === 0)
    throw new AppError('INVALID_PAYLOAD', 'empty body, expected JSON');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new AppError('INVALID_PAYLOAD', `malformed JSON: ${(error as Error).message}`);
  }
}

/** A webhook body: JSON, or a form with the JSON in its `payload` field. */
export function parseWebhookBody(raw: unknown, contentType: string | undefined): unknown {
  if ((contentType ?? '').startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(Buffer.isBuffer(raw) ? raw.toString('utf8') : '').get('payload');
    if (payload === null) throw new AppError('INVALID_PAYLOAD', 'form body without a "payload" field');
    return parseJson(Buffer.from(payload));
  }
  return parseJson(raw);
}
