/**
 * Build caches (rule key `cache:`): which named volume a build mounts at each cache path, whether
 * it may write it, and where a new one is seeded from. Pure: no I/O here
 * (pipeline/build-caches.ts does it).
 *
 * One volume per service instance, repository, path and ref. Its name is
 * `autobuilder-cache-<h>_-<ref slug>`: `<h>` is 24 hex digits of the SHA-256 of
 * (instance, repository, path), the same strength the ref slug uses for long refs; the ref part
 * is the injective ref slug (ref-slug.ts), so two refs never share a cache. `_-` never occurs in
 * a slug (`_` starts `__`, `_hex` or `_h` only), so the two parts cannot run into each other.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Build, RefType } from './build.js';
import { refSlug } from './ref-slug.js';

/** A new branch's cache starts as a copy of this branch's; pull requests read it. */
export const CACHE_SEED_BRANCH = 'master';
export const CACHE_VOLUME_PREFIX = 'autobuilder-cache-';
/** Volume labels: the repository, path and ref a cache belongs to (read back by gc and the monitor). */
export const CACHE_LABEL = 'org.zero-os.autobuilder.cache';
export const CACHE_PATH_LABEL = 'org.zero-os.autobuilder.cache.path';
export const CACHE_REF_LABEL = 'org.zero-os.autobuilder.cache.ref';
/** Paths no cache may take: the build's output directory is its own volume. */
const RESERVED = ['/target'];

export interface CacheRef {
  refType: RefType;
  branch: string;
}

export function cacheVolumeName(instance: string, repository: string, path: string, ref: CacheRef): string {
  const hash = createHash('sha256')
    .update(`${instance}\0${repository.toLowerCase()}\0${path}`)
    .digest('hex')
    .slice(0, 24);
  return `${CACHE_VOLUME_PREFIX}${hash}_-${refSlug(ref.refType, ref.branch)}`;
}

/**
 * Pull requests run code from outside the repository's pushes, so they may read a cache but never
 * write one.
 */
export function isPullRequest(build: Pick<Build, 'refType'>): boolean {
  return build.refType === 'pull';
}

export interface CacheMountPlan {
  path: string;
  /** The ref whose cache is mounted. */
  ref: CacheRef;
  readOnly: boolean;
  /** A cache that does not exist yet starts as a copy of this ref's (none for the seed branch). */
  seedFrom: CacheRef | null;
}

/**
 * What a build mounts: its own ref's cache, read-write, seeded from master's on first use; a pull
 * request the cache of the branch it merges into (`pull.baseBranch`; master when unknown), read-only.
 */
export function cachePlan(
  build: Pick<Build, 'refType' | 'branch'> & { pull?: { baseBranch: string } | null },
  paths: readonly string[],
): CacheMountPlan[] {
  const seed: CacheRef = { refType: 'branch', branch: CACHE_SEED_BRANCH };
  if (isPullRequest(build)) {
    const base: CacheRef = { refType: 'branch', branch: build.pull?.baseBranch ?? CACHE_SEED_BRANCH };
    return paths.map((path) => ({ path, ref: base, readOnly: true, seedFrom: null }));
  }
  const own: CacheRef = { refType: build.refType, branch: build.branch };
  const isSeed = own.refType === seed.refType && own.branch === seed.branch;
  return paths.map((path) => ({ path, ref: own, readOnly: false, seedFrom: isSeed ? null : seed }));
}

/**
 * Engines holding a warm cache for the build (caches are per engine): those with its own ref's
 * cache; when none has it, those with the cache it would be seeded from. From the recorded uses.
 */
export function warmCacheEngines(
  uses: readonly { engine: string; repository: string; refType: string; branch: string }[],
  repository: string,
  build: Pick<Build, 'refType' | 'branch'>,
): Set<string> {
  const plan = cachePlan(build, ['/'])[0]!;
  const holding = (ref: CacheRef) =>
    new Set(
      uses
        .filter(
          (u) =>
            u.repository.toLowerCase() === repository.toLowerCase() &&
            u.refType === ref.refType &&
            u.branch === ref.branch,
        )
        .map((u) => u.engine),
    );
  const own = holding(plan.ref);
  return own.size > 0 || !plan.seedFrom ? own : holding(plan.seedFrom);
}

const overlaps = (a: string, b: string) =>
  a === b || a.startsWith(`${b === '/' ? '' : b}/`) || b.startsWith(`${a === '/' ? '' : a}/`);

/** Why `path` cannot be a cache path of a rule whose source is at `checkout`; null when it can. */
export function cachePathProblem(path: string, checkout: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path in the container';
  if (path.includes('\0')) return 'must not contain a NUL byte';
  if (path === '/') return 'must not be "/" (the whole container)';
  if (posix.normalize(path) !== path || path.endsWith('/'))
    return `must be written normalized: "${posix.normalize(path).replace(/(.)\/$/, '$1')}"`;
  for (const reserved of RESERVED)
    if (overlaps(path, reserved)) return `must not overlap ${reserved} (the build's output directory)`;
  const source = posix.normalize(checkout).replace(/(.)\/$/, '$1');
  if (overlaps(path, source))
    return `must not overlap the source directory ${source} (checkout): the source is fresh each build`;
  return null;
}

/** Problems of a rule's `cache` list, as [index, message]: each path, and paths nested in others. */
export function cacheListProblems(paths: readonly string[], checkout: string): [number, string][] {
  const problems: [number, string][] = [];
  paths.forEach((path, index) => {
    const problem = cachePathProblem(path, checkout);
    if (problem) return problems.push([index, problem]);
    const other = paths.findIndex((p, i) => i < index && overlaps(p, path));
    if (other >= 0) problems.push([index, `overlaps cache path ${paths[other]} (one volume per directory)`]);
  });
  return problems;
}
