/** Durations as written in config: `90s`, `45m`, `2h`, `1h30m`, or plain milliseconds as a number. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(trimmed)) return null;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 0);
  }
  return total > 0 ? total : null;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Elapsed time as the monitor shows it: `42s`, `3m07s`, `1h02m`. The server's pages and the
 * browser's live updates (web/, bundled from this module) use this one function, so an update
 * does not change the look.
 */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

/** How long something took, for the service log: `4.2s` under a minute, else as formatElapsed. */
export function formatTook(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : formatElapsed(ms);
}

/** `4g`, `512m`, `1024k`, or bytes. */
export function parseMemory(text: string): number | null {
  const match = /^(\d+)([bkmg]?)$/i.exec(text.trim());
  if (!match) return null;
  const factor = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  const bytes = Number(match[1]) * factor;
  return bytes > 0 ? bytes : null;
}

/** Bytes as people read limits: `2 GiB`, `512 MiB`, `64 KiB`, or `1000 bytes`. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} bytes`;
}
