/**
 * When each line of a build's log arrived, kept beside the log (`build-N.log.times`) so the log
 * itself stays exactly what the build printed. One text record per change: `<line> <epoch ms>\n`
 * means "lines from number <line> (counted from 1) on arrived at that millisecond", until the next
 * record. The writer notes one record per arrival chunk and skips it when the line or the
 * millisecond is the same as the previous one's, so a fast log costs a record per millisecond, not
 * per line, and a slow one gets the exact time of every line.
 */
import { closeSync, createReadStream, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { timesPath } from '../domain/log-files.js';

/**
 * Collects records in memory and writes them with the log's batch. A failed write (ENOSPC) removes
 * the file: no times at all is honest, times that stop part way would date every later line wrong.
 * The log is what matters; losing its times never fails the build.
 */
export class LogTimesWriter {
  private fd: number | null;
  private pending = '';
  private lastLine = 0;
  private lastMs = 0;

  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch {
      this.fd = null;
    }
  }

  /** Line `line` (from 1) or a later one begins in output that arrived at `ms`. */
  note(line: number, ms: number): void {
    if (this.fd === null || line === this.lastLine || ms === this.lastMs) return;
    this.lastLine = line;
    this.lastMs = ms;
    this.pending += `${line} ${ms}\n`;
  }

  write(): void {
    if (this.fd === null || this.pending === '') return;
    const bytes = Buffer.from(this.pending);
    this.pending = '';
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done);
    } catch {
      this.close();
      rmSync(this.path, { force: true });
    }
  }

  close(): void {
    if (this.fd === null) return;
    this.write();
    try {
      closeSync(this.fd);
    } catch {
      // Nothing to do for a file that is done.
    }
    this.fd = null;
  }
}

export interface LineTimes {
  /** False for a log written before times were recorded (or whose times could not be written). */
  recorded: boolean;
  /** [line, epoch ms] change points: the first covers `from` itself, the rest lie in (from, to]. */
  times: [number, number][];
}

/** The records that date lines `from`..`to`: at most one per line of the range, plus one. */
export async function readLineTimes(logPath: string, from: number, to: number): Promise<LineTimes> {
  const path = timesPath(logPath);
  if (!existsSync(path)) return { recorded: false, times: [] };
  const times: [number, number][] = [];
  let covering: [number, number] | null = null;
  const input = createReadStream(path, { encoding: 'latin1' });
  let rest = '';
  try {
    reading: for await (const chunk of input as AsyncIterable<string>) {
      const records = (rest + chunk).split('\n');
      // The last piece has no newline yet: the next chunk completes it, or a crash tore it.
      rest = records.pop()!;
      for (const text of records) {
        const match = /^(\d+) (\d+)$/.exec(text);
        if (!match) continue;
        const record: [number, number] = [Number(match[1]), Number(match[2])];
        if (record[0] <= from) covering = record;
        else if (record[0] <= to) times.push(record);
        else break reading;
      }
    }
  } finally {
    input.destroy();
  }
  return { recorded: true, times: covering ? [covering, ...times] : times };
}
