/**
 * Errors are values with stable codes. `http/error-handler.ts` maps them to HTTP in one place;
 * docs/api.md lists every code.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  INVALID_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  BAD_SIGNATURE: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  UPSTREAM_FAILED: 502,
  QUEUE_FULL: 503,
  STORE_UNAVAILABLE: 503,
  TOO_MANY_WATCHERS: 503,
  /** A reload of an invalid config file: the running config stays. */
  CONFIG_REFUSED: 422,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
  SHUTTING_DOWN: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes answered with `Retry-After` (seconds): the client may try again later as it is. */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  TOO_MANY_WATCHERS: 10,
  // A queue at its limit drains at the pace of builds (minutes), not of requests.
  QUEUE_FULL: 120,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}
