/** `autobuilder config check --repository-file`: a repository's own file, checked locally. */
import { readFileSync } from 'node:fs';
import { stringify as stringifyYaml } from 'yaml';
import type { Config } from '../config/config.js';
import { applyRepositoryFile, REPOSITORY_FILE } from '../config/repository-file.js';
import { formatDuration } from '../domain/duration.js';
import { fail } from './fail.js';

/** The same checks a build makes; prints the rule as the file makes it, or fails with the problems. */
export function checkRepositoryFile(config: Config, path: string, repository?: string): void {
  const names = [...config.rules.keys()];
  const name = repository ?? (names.length === 1 ? names[0] : undefined);
  if (!name)
    fail(`--repository is needed: the config has ${names.length} repositories (${names.join(', ')})`);
  const rule =
    config.rules.get(name) ??
    [...config.rules.values()].find((r) => r.repository.toLowerCase() === name.toLowerCase());
  if (!rule) fail(`repository ${name} is not configured in ${config.source}`);
  if (!rule.repositoryConfig)
    process.stdout.write(
      `# note: ${rule.repository} has repository_config: false; builds ignore ${REPOSITORY_FILE}\n`,
    );
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read ${path}: ${(error as Error).message}`);
  }
  const result = applyRepositoryFile(rule, text, config.rules);
  if (!result.ok) fail(`${path} is invalid for ${rule.repository}`, result.problems);
  const effective = result.rule;
  process.stdout.write(
    stringifyYaml({
      repository: rule.repository,
      sets: result.keys,
      image: effective.image,
      base: effective.base,
      checkout: effective.checkout,
      steps: effective.steps,
      env: effective.env,
      artifact: effective.artifact,
      publish: effective.publish,
      link: effective.link,
      branches: effective.branches,
      tags: effective.tags,
      timeout: formatDuration(effective.timeoutMs),
    }),
  );
}
