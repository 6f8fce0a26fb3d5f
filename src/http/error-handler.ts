/** The one place where errors become HTTP answers: `{ "error": CODE, "message": "…" }`. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, RETRY_AFTER_SECONDS, type ErrorCode } from '../errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_PAYLOAD',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_PAYLOAD',
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, fastifyError.message);
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) return new AppError('BAD_REQUEST', fastifyError.message);
  return new AppError('INTERNAL', 'internal error');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    const retryAfter = RETRY_AFTER_SECONDS[appError.code];
    // A refusal to retry later (load shedding) is expected under load: not an error to log as one.
    if (appError.status >= 500 && retryAfter === undefined)
      request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: appError.code, message: appError.message }, 'request refused');
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(appError.status).send({
      error: appError.code,
      message: appError.message,
      ...(appError.details === undefined ? {} : { details: appError.details }),
    });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
}
