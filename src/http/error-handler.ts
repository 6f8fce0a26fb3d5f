/**
 * The one place where errors become HTTP answers: `{ "error": CODE, "message": "…" }`, with the
 * codes of src/errors.ts (docs/api.md lists them). Fastify's own errors (bad URL encoding, content
 * types, body limits, unknown routes) and Node's (unparsable requests, request timeouts) are mapped
 * here too, so a client never sees a second error format.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, RETRY_AFTER_SECONDS, type ErrorCode } from '../errors.js';
import { renderErrorPage, wantsHtmlPage } from './views/error-page.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_PAYLOAD',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_PAYLOAD',
};

/** For framework errors without an entry above: their status says which row of the table. */
const BY_STATUS: Record<number, ErrorCode> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, fastifyError.message);
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500)
    return new AppError(BY_STATUS[status] ?? 'BAD_REQUEST', fastifyError.message);
  return new AppError('INTERNAL', 'internal error');
}

export function errorBody(error: AppError): Record<string, unknown> {
  return {
    error: error.code,
    message: error.message,
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}

function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error);
  // A database outage is logged once when it starts (service.ts), not once per refused request.
  const retryAfter = RETRY_AFTER_SECONDS[appError.code];
  // A refusal to retry later (load shedding) is expected under load: not an error to log as one.
  if (appError.code === 'STORE_UNAVAILABLE') request.log.warn(appError.message);
  else if (appError.status >= 500 && retryAfter === undefined)
    request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: appError.code, message: appError.message }, 'request refused');
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  // A browser on the monitor gets a page; the API, hooks and tools keep the JSON body.
  if (wantsHtmlPage(request.url, request.headers.accept))
    return reply.status(appError.status).type('text/html; charset=utf-8').send(renderErrorPage(appError));
  return reply.status(appError.status).send(errorBody(appError));
}

/** Fastify's `frameworkErrors` option: URLs it cannot decode, before any route or hook runs. */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  void sendError(error, request, reply);
}

/**
 * Fastify's `clientErrorHandler` (Node's 'clientError'): requests the HTTP parser refused and
 * requests not received within `request_timeout`. Only the raw socket exists here.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('REQUEST_TIMEOUT', 'the request was not received within request_timeout')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('HEADERS_TOO_LARGE', 'the request headers are too large')
        : new AppError('BAD_REQUEST', `malformed HTTP request (${error.code ?? 'parse error'})`);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(errorBody(appError));
  const head = `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n`;
  // end() flushes the answer; destroy() afterwards, since a client that never closes its side
  // would otherwise hold the half-open socket.
  socket.end(head + text, () => socket.destroy());
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new AppError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );
}
