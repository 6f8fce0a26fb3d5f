/**
 * `.autobuilder.yaml` in the pushed commit: how a repository describes its own build. The
 * server's rule is the allow-list and the defaults: the file may set only the keys below, and
 * never what must stay out of a pusher's hands (network, memory and other limits, secrets, the
 * committed image's name, cancel_running, repository_config, and `cache`: a cache outlives the
 * build and is read by later builds of the branch, so which directories persist is the server's
 * choice). Every problem is listed at once,
 * each with its key path, as `config check` does.
 */
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import { formatDuration } from '../domain/duration.js';
import { cachePathProblem } from '../domain/cache.js';
import { ruleSchema, type ConfigProblem } from './schema.js';

export const REPOSITORY_FILE = '.autobuilder.yaml';
/** A pipeline file is a few lines; anything far larger is a mistake (or an attack on the parser). */
export const REPOSITORY_FILE_MAX_BYTES = 64 * 1024;

const ALLOWED = [
  'image',
  'base',
  'checkout',
  'steps',
  'env',
  'artifact',
  'publish',
  'link',
  'branches',
  'tags',
  'timeout',
] as const;
type Allowed = (typeof ALLOWED)[number];

const fileSchema = ruleSchema.pick(
  Object.fromEntries(ALLOWED.map((k) => [k, true])) as Record<Allowed, true>,
);
type FileRule = z.output<typeof fileSchema>;

export type RepositoryFileResult =
  { ok: true; rule: BuildRule; keys: string[] } | { ok: false; problems: ConfigProblem[] };

/**
 * The rule a build runs with: `rule` with what `text` sets. `rules` are the server's (a `base`
 * must be one of them, a full build that commits an image).
 */
export function applyRepositoryFile(rule: BuildRule, text: string, rules: RuleLookup): RepositoryFileResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ path: '', message: `not valid YAML: ${(error as Error).message}` }] };
  }
  if (raw === null || raw === undefined) return { ok: true, rule, keys: [] };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, problems: [{ path: '', message: 'expected a mapping at the top level' }] };
  const record = raw as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if ((ALLOWED as readonly string[]).includes(key)) given[key] = value;
    else if (key in ruleSchema.shape)
      problems.push({ path: key, message: `set by the server's rule only, not by ${REPOSITORY_FILE}` });
    else problems.push({ path: key, message: `unknown key (allowed: ${ALLOWED.join(', ')})` });
  }
  // Key by key, so one bad value does not hide the problems of the others.
  const data: Partial<Record<Allowed, unknown>> = {};
  for (const [key, value] of Object.entries(given)) {
    const parsed = fileSchema.shape[key as Allowed].safeParse(value);
    if (parsed.success) data[key as Allowed] = parsed.data;
    else
      problems.push(
        ...parsed.error.issues.map((i) => ({ path: [key, ...i.path].join('.'), message: i.message })),
      );
  }
  if (given.image !== undefined && given.base !== undefined)
    problems.push({
      path: 'base',
      message: 'set at most one of "image" (full build) or "base" (incremental)',
    });
  if (typeof data.base === 'string') {
    const base = rules.get(data.base);
    if (!base)
      problems.push({ path: 'base', message: `base "${data.base}" is not configured on the server` });
    else if (base.base || !base.commit?.includes(':'))
      problems.push({ path: 'base', message: `${data.base} is not a full build that commits an image` });
  }
  if (typeof data.timeout === 'number' && data.timeout > rule.timeoutMs)
    problems.push({ path: 'timeout', message: `at most the server's ${formatDuration(rule.timeoutMs)}` });
  // The server's cache paths must stay clear of the source directory the file may move.
  if (typeof data.checkout === 'string')
    for (const path of rule.cache ?? []) {
      const problem = cachePathProblem(path, data.checkout);
      if (problem) problems.push({ path: 'checkout', message: `cache path ${path} ${problem}` });
    }
  const publish = 'publish' in given ? data.publish : rule.publish;
  if (given.link !== undefined && !publish)
    problems.push({ path: 'link', message: '"link" needs "publish"' });
  if (problems.length > 0) return { ok: false, problems };

  const file = data as Partial<FileRule>;
  const next: BuildRule = { ...rule };
  if (file.image !== undefined) {
    next.image = file.image;
    delete next.base;
  }
  if (file.base !== undefined) {
    next.base = file.base;
    delete next.image;
  }
  if (file.checkout !== undefined) next.checkout = file.checkout;
  if (file.steps !== undefined) next.steps = file.steps;
  // The file's env adds to the server's (and may change its values); the server's names stay.
  if (file.env !== undefined) next.env = { ...rule.env, ...file.env };
  if (file.artifact !== undefined) next.artifact = file.artifact;
  if (file.publish !== undefined) next.publish = file.publish;
  if (file.link !== undefined) next.link = file.link;
  if (file.branches !== undefined) next.branches = file.branches;
  if (file.tags !== undefined) next.tags = file.tags;
  if (file.timeout !== undefined) next.timeoutMs = file.timeout;
  return { ok: true, rule: next, keys: Object.keys(given) };
}
