/**
 * Which image a build's container starts from: the rule's image, or the base build's committed
 * one. An incremental rule with `base_missing: full` starts from its `image` while its base has no
 * image for the ref (nor one to fall back to): the build is then a full build.
 */
import { selectBaseTag, splitImageTemplate } from '../domain/base-image.js';
import type { Build } from '../domain/build.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import { renderTemplate, templateValues } from '../domain/template.js';
import type { Executor } from '../executor/executor.js';
import { BuildFailure } from './build-failure.js';

export async function resolveImage(
  executor: Executor,
  rules: RuleLookup,
  rule: BuildRule,
  ref: Pick<Build, 'refType' | 'branch'>,
  log: (line: string) => void,
): Promise<string> {
  if (rule.image && !rule.base) return ensure(executor, rule.image, log);
  const baseRule = rule.base ? rules.get(rule.base) : undefined;
  if (!baseRule?.commit) throw new BuildFailure(`base ${rule.base ?? '?'} has no committed image`);
  const { repo } = splitImageTemplate(baseRule.commit);
  const values = templateValues(baseRule.repository, ref.refType, ref.branch, '');
  const imageRepo = renderTemplate(repo, values).toLowerCase();
  // The base's tags are ref slugs like this build's `{branch}` (domain/ref-slug.ts).
  const tag = selectBaseTag(values.branch, await executor.listTags(imageRepo));
  if (tag) return `${imageRepo}:${tag}`;
  if (rule.baseMissing === 'full' && rule.image) {
    log(
      `no base image of ${baseRule.repository} for ${ref.refType} ${ref.branch}: full build from ${rule.image}`,
    );
    return ensure(executor, rule.image, log);
  }
  throw new BuildFailure(`no base image for ${ref.refType} ${ref.branch}`);
}

async function ensure(executor: Executor, image: string, log: (line: string) => void): Promise<string> {
  if (!(await executor.ensureImage(image, log))) throw new BuildFailure(`image ${image} not available`);
  return image;
}
