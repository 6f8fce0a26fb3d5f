/** A stable name for this service: the same host and data directory give the same name. */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from './config.js';

export function serviceInstance(config: Pick<Config, 'dataDirectory'>): string {
  return createHash('sha256').update(`${hostname()}\0${config.dataDirectory}`).digest('hex').slice(0, 12);
}
