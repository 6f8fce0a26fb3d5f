/**
 * Checks across the rules of `repositories`, run on the raw file even when field checks fail, so
 * every problem is reported at once, each at its key path.
 */
import { cacheListProblems } from '../domain/cache.js';
import { REPOSITORY_PATTERN as REPOSITORY } from '../domain/repository.js';
import type { ConfigProblem } from './schema.js';

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** alias → the repository whose rule lists it (only well-formed, unclaimed aliases). */
function aliasOwners(repositories: Loose, problems: ConfigProblem[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [repository, value] of Object.entries(repositories)) {
    if (!isRecord(value) || !Array.isArray(value.aliases)) continue;
    value.aliases.forEach((alias: unknown, index) => {
      if (typeof alias !== 'string') return;
      const at = `repositories.${repository}.aliases.${index}`;
      if (alias === repository) {
        problems.push({ path: at, message: 'an alias must differ from the repository itself' });
      } else if (alias in repositories) {
        problems.push({
          path: at,
          message: `"${alias}" has a rule of its own; a name can build one rule only`,
        });
      } else if (owners.has(alias)) {
        problems.push({ path: at, message: `"${alias}" is already an alias of ${owners.get(alias)}` });
      } else {
        owners.set(alias, repository);
      }
    });
  }
  return owners;
}

function checkImageAndBase(at: string, rule: Loose, problems: ConfigProblem[]): void {
  if (rule.base_missing === 'full') {
    if (!rule.base || !rule.image)
      problems.push({
        path: `${at}.base_missing`,
        message:
          '"base_missing: full" needs both "base" (incremental) and "image" (the full build without a base)',
      });
  } else if (Boolean(rule.image) === Boolean(rule.base)) {
    problems.push({
      path: at,
      message: rule.image
        ? 'set exactly one of "image" (full build) or "base" (incremental), or both with "base_missing: full"'
        : 'set exactly one of "image" (full build) or "base" (incremental)',
    });
  }
}

export function checkRules(repositories: Loose): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const aliases = aliasOwners(repositories, problems);
  for (const [repository, value] of Object.entries(repositories)) {
    const at = `repositories.${repository}`;
    if (!REPOSITORY.test(repository)) problems.push({ path: at, message: 'repository must be owner/name' });
    if (!isRecord(value)) continue;
    checkImageAndBase(at, value, problems);
    if (Array.isArray(value.cache) && typeof value.checkout === 'string')
      for (const [index, message] of cacheListProblems(
        value.cache.filter((p): p is string => typeof p === 'string'),
        value.checkout,
      ))
        problems.push({ path: `${at}.cache.${index}`, message });
    if (value.link && !value.publish)
      problems.push({ path: `${at}.link`, message: '"link" needs "publish"' });
    if (value.boot && !value.publish)
      problems.push({
        path: `${at}.boot`,
        message: '"boot" needs "publish" (it boots the published kernel)',
      });
    if (value.release_publish && !value.publish)
      problems.push({ path: `${at}.release_publish`, message: '"release_publish" needs "publish"' });
    if (value.release_link && !value.publish)
      problems.push({ path: `${at}.release_link`, message: '"release_link" needs "publish"' });
    if (typeof value.base !== 'string') continue;
    const baseName = aliases.get(value.base) ?? value.base;
    const base = repositories[baseName];
    if (!isRecord(base)) {
      problems.push({ path: `${at}.base`, message: `base "${value.base}" is not configured` });
    } else if (base.base) {
      problems.push({
        path: `${at}.base`,
        message: 'a base must be a full build (image), not an incremental one',
      });
    } else if (typeof base.commit !== 'string' || !base.commit.includes(':')) {
      problems.push({
        path: `repositories.${baseName}.commit`,
        message: `needs "commit" as <image>:<tag template>, because ${repository} builds on it`,
      });
    }
  }
  return problems;
}
