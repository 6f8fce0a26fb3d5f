/**
 * `branches:` / `tags:` filters: glob patterns (minimatch, so `release/*` matches `release/1.0` and
 * not `release/a/b`; `**` crosses `/`), a leading `!` excludes. A ref passes when it matches a
 * positive pattern (or there is none) and no excluding one. A filter applies to its own ref type:
 * `branches:` leaves tags alone and the reverse; an empty list builds none of that type.
 */
import { minimatch } from 'minimatch';
import type { RefType } from './build.js';

export interface RefFilters {
  branches?: string[];
  tags?: string[];
}

const OPTIONS = { dot: true, nonegate: true, nocomment: true } as const;

export function matchesPatterns(name: string, patterns: readonly string[]): boolean {
  const include = patterns.filter((p) => !p.startsWith('!'));
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  if (patterns.length === 0) return false;
  const included = include.length === 0 || include.some((p) => minimatch(name, p, OPTIONS));
  return included && !exclude.some((p) => minimatch(name, p, OPTIONS));
}

/** Null when the ref is built; else why not (recorded as the delivery's "ignored" reason). */
export function refFilteredOut(
  filters: RefFilters,
  refType: RefType,
  name: string,
  where = 'the rule',
): string | null {
  const key = refType === 'branch' ? 'branches' : 'tags';
  const patterns = filters[key];
  if (patterns === undefined || matchesPatterns(name, patterns)) return null;
  const shown = patterns.length === 0 ? '[]' : patterns.join(', ');
  return `${refType} ${name} does not match ${key} of ${where} (${shown})`;
}
