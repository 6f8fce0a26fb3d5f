/**
 * Request bodies. The webhook keeps its body raw (a Buffer), in its own encapsulated context, so
 * its signature is checked over the exact bytes GitHub signed; it parses them with the helpers
 * below. Every other route gets fastify's own JSON parser.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** GitHub caps webhook payloads at 25 MB. */
export const BODY_LIMIT = 25 * 1024 * 1024;

/** In the webhook's context only: JSON and form bodies as the bytes that came. */
export function registerRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
}

/**
 * Everywhere else: fastify's JSON parser (with its prototype-poisoning checks), except that an
 * empty body is no body, so a POST that sends `Content-Type: application/json` and nothing to say
 * (cancel, pause) is not refused. Any other content type is refused with 415.
 */
export function registerJsonBodies(app: FastifyInstance): void {
  const parseJsonBody = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    (request, body, done) =>
      body === '' ? done(null, undefined) : parseJsonBody(request, body as string, done),
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
