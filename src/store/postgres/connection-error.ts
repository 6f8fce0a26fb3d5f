/**
 * Which node-postgres errors mean "the server is not there" (as opposed to a bad query): these
 * are retried and answered 503, the others are bugs.
 */

/** Socket errors from connecting or from a connection that broke. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ENOENT', // a Unix socket path that is gone
]);

/**
 * SQLSTATE: class 08 is "connection exception"; 57P01-57P03 are the server shutting down or not
 * yet accepting connections ("the database system is starting up"); 53300 too many connections.
 */
const SERVER_STATES = /^(08...|57P0[123]|53300)$/;

/** pg's own messages when a connection ends under it, or a connect attempt times out. */
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable|Client was closed|Query read timeout/i;

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_STATES.test(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return DRIVER_MESSAGES.test(error.message);
}

/** What went wrong, in one line: AggregateError (IPv4 + IPv6 refused) has an empty message. */
export function describeConnectionError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return describeConnectionError(error.errors[0]);
  if (error instanceof Error)
    return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
}

/** `host:port` of a postgres:// URL, never its password. */
export function databaseAddress(url: string): string {
  try {
    // `postgres://user@/db?host=/run/postgresql` (a Unix socket) has no host part, which URL refuses.
    const parsed = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/]*@)\//, '$1localhost/'));
    const socket = parsed.searchParams.get('host');
    return `${socket ?? (decodeURIComponent(parsed.hostname) || 'localhost')}:${parsed.port || '5432'}`;
  } catch {
    return 'the configured address';
  }
}

/**
 * One connection attempt, nothing written (for `autobuilder config check`): null when the server
 * answers, else one line saying where and why.
 */
export async function probePostgres(url: string): Promise<string | null> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined); // the failed connect() below reports it
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `cannot reach the database at ${databaseAddress(url)}: ${describeConnectionError(error)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
