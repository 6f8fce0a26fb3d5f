/**
 * The database could not be reached: a refused or dropped connection, a server shutting down.
 * A value with the code `STORE_UNAVAILABLE` (503), so a webhook that could not be stored is
 * answered 5xx and GitHub can redeliver it; `reason` is what the driver said, for /healthz.
 */
import { AppError } from '../errors.js';

export class StoreUnavailableError extends AppError {
  constructor(
    readonly reason: string,
    message = `the database is unreachable: ${reason}`,
  ) {
    super('STORE_UNAVAILABLE', message);
    this.name = 'StoreUnavailableError';
  }
}
