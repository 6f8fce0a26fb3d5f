/**
 * The service's own log. On a terminal: one readable line per event, local time, colours (pino-pretty);
 * otherwise (a file, journald, a log shipper) or with LOG_FORMAT=json: pino's JSON lines, whose
 * fields (build, repository, ref, state, reason, durationMs…) are what the pretty line summarises.
 * LOG_FORMAT=pretty forces the readable form without a terminal.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Fields the messages already say in words: shown in JSON, left out of the pretty line. */
const SAID_IN_THE_MESSAGE = [
  'pid',
  'hostname',
  'build',
  'repository',
  'ref',
  'commit',
  'state',
  'reason',
  'durationMs',
  'engine',
  'delivery',
  'event',
  'outcome',
  'action',
  'retry',
  'attempt',
  'by',
  'container',
  'path',
  'address',
  'monitor',
  'version',
  'config',
  'repositories',
  'signal',
  'graceMs',
].join(',');

export type LogFormat = 'json' | 'pretty';

export function logFormat(env: NodeJS.ProcessEnv, isTty: boolean): LogFormat {
  if (env.LOG_FORMAT === 'json' || env.LOG_FORMAT === 'pretty') return env.LOG_FORMAT;
  return isTty ? 'pretty' : 'json';
}

export function createLogger(
  level: string,
  format: LogFormat,
  destination: NodeJS.WritableStream = process.stdout,
  colorize = format === 'pretty' && Boolean((destination as { isTTY?: boolean }).isTTY),
): Logger {
  if (format === 'json') return pino({ level }, destination as pino.DestinationStream);
  return pino(
    { level },
    pretty({
      destination,
      colorize,
      sync: true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
      ignore: SAID_IN_THE_MESSAGE,
    }),
  );
}
