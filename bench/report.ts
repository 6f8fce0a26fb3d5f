/** Shared bits of the benchmarks: percentiles, the summary line format, and docs/benchmarks.md sections. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

/** `name: value unit (baseline value, ratio x)`: one line per figure. */
export function figure(name: string, value: number, unit: string, baseline?: number): string {
  const base =
    baseline === undefined ? '' : ` (baseline ${round(baseline)}, ratio ${(value / baseline).toFixed(2)}x)`;
  const line = `${name}: ${round(value)} ${unit}${base}`;
  process.stdout.write(`${line}\n`);
  return line;
}

function dockerVersion(): string {
  try {
    return execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unavailable';
  }
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const date = new Date().toISOString().slice(0, 10);
  return `${cpu}, ${cpus().length} cores, Node ${process.version}, Docker ${dockerVersion()}, ${date}`;
}

/** Replaces (or appends) the section `## title` of docs/benchmarks.md. */
export function writeSection(title: string, body: string): void {
  const path = new URL('../docs/benchmarks.md', import.meta.url);
  const start = `<!-- bench:${title} -->`;
  const end = `<!-- /bench:${title} -->`;
  const section = `${start}\n## ${title}\n\n${body.trim()}\n${end}`;
  let text = existsSync(path)
    ? readFileSync(path, 'utf8')
    : '# Benchmarks\n\nRun with `npm run bench`. Every figure is measured in the same run as its baseline.\n';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + section + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
}

export function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}
