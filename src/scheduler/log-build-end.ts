/** The service's own log line for a build's end (docs/troubleshooting.md shows them). */
import type { Logger } from 'pino';
import type { Build } from '../domain/build.js';
import { formatTook } from '../domain/duration.js';

/** One line per build end: what a person scanning the service's log looks for. */
export function logBuildEnd(logger: Logger, build: Build): void {
  const ms =
    build.startedAt && build.finishedAt ? Date.parse(build.finishedAt) - Date.parse(build.startedAt) : null;
  const took = ms === null ? '' : ` in ${formatTook(Math.max(0, ms))}`;
  const on = build.engine ? ` on ${build.engine}` : '';
  const line = `build #${build.id} ${build.state}${took}${on}: ${build.repository} ${build.refType} ${build.branch}${
    build.reason ? ` (${build.reason})` : ''
  }`;
  const fields = {
    build: build.id,
    repository: build.repository,
    ref: `${build.refType} ${build.branch}`,
    engine: build.engine,
    state: build.state,
    reason: build.reason,
    durationMs: ms,
  };
  if (build.state === 'success') logger.info(fields, line);
  else logger.warn(fields, line);
}
