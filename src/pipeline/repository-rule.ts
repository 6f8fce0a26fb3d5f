/**
 * The rule a build runs with: the server's, changed by `.autobuilder.yaml` of the exact commit
 * being built (read from the mirror after fetching that commit). A broken file fails the build
 * with every problem in its log and reason; a file whose branches/tags leave the ref out ends it
 * as not built. A pull request's file is read at its head commit: the allow-list
 * (config/repository-file.ts) keeps secrets, limits and trusted_authors out of a fork's hands.
 */
import type { Build } from '../domain/build.js';
import { refFilteredOut } from '../domain/ref-filter.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import {
  applyRepositoryFile,
  REPOSITORY_FILE,
  REPOSITORY_FILE_MAX_BYTES,
} from '../config/repository-file.js';
import { BuildFailure } from './build-failure.js';
import { pullHeadRef } from '../domain/pull-request.js';
import type { GitMirrors } from './git-mirror.js';

export async function readRepositoryRule(
  deps: { mirrors: GitMirrors; rules: RuleLookup },
  build: Build,
  rule: BuildRule,
  log: (line: string) => void,
): Promise<{ rule: BuildRule; skip?: string }> {
  const fetched = await deps.mirrors.ensureCommit(
    build.repository,
    build.commit,
    (l) => log(`    ${l}`),
    build.pull ? pullHeadRef(build.pull.number) : undefined,
  );
  if (fetched) throw new BuildFailure(fetched);
  let text: string | null;
  try {
    text = await deps.mirrors.readFile(
      build.repository,
      build.commit,
      REPOSITORY_FILE,
      REPOSITORY_FILE_MAX_BYTES,
    );
  } catch (error) {
    throw new BuildFailure(`${REPOSITORY_FILE}: ${(error as Error).message}`);
  }
  if (text === null) return { rule };
  const applied = applyRepositoryFile(rule, text, deps.rules);
  if (!applied.ok) {
    log(`==> ${REPOSITORY_FILE} at ${build.commit.slice(0, 12)} is invalid:`);
    for (const p of applied.problems) log(`    - ${p.path || '(top)'}: ${p.message}`);
    const list = applied.problems.map((p) => `${p.path || '(top)'}: ${p.message}`).join('; ');
    throw new BuildFailure(`${REPOSITORY_FILE} is invalid: ${list}`);
  }
  log(`==> ${REPOSITORY_FILE} at ${build.commit.slice(0, 12)} sets: ${applied.keys.join(', ') || 'nothing'}`);
  // Only the file's own filters: the server's were applied to the push (a manual trigger of a
  // branch the server's rule leaves out is the operator's explicit wish).
  const own = {
    branches: applied.keys.includes('branches') ? applied.rule.branches : undefined,
    tags: applied.keys.includes('tags') ? applied.rule.tags : undefined,
  };
  // A pull request is filtered by the branch it merges into, as at the webhook.
  const skip = build.pull
    ? refFilteredOut(own, 'branch', build.pull.baseBranch, REPOSITORY_FILE)
    : refFilteredOut(own, build.refType, build.branch, REPOSITORY_FILE);
  return skip ? { rule: applied.rule, skip } : { rule: applied.rule };
}
