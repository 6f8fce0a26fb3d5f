/**
 * The files of one build's log: the log as the build printed it, and beside it when each line
 * arrived (live/log-times.ts). Whatever removes a log removes both.
 */
export function timesPath(logPath: string): string {
  return `${logPath}.times`;
}
