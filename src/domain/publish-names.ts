/**
 * The names a build publishes. A branch build: `publish`, and `link` moved to it. A tag build is a
 * release: `release_publish` (default `publish`) and `release_link` moved to it when set; it never
 * moves `link`, so a tag cannot change what a branch's link serves. A release link is shared by all
 * tags of the rule (it names "the latest release"), never by a branch. A pull request build
 * publishes its kernel only, under a name that holds its `pr-<n>`, and moves no link.
 */
import type { Build } from './build.js';
import type { BuildRule } from './rule.js';
import { renderTemplate, type TemplateValues } from './template.js';

export interface PublishNames {
  kernel: string;
  link?: string;
  /** The link is the release link, which every tag build of the rule may move. */
  release: boolean;
}

export function publishNames(
  rule: Pick<BuildRule, 'publish' | 'link' | 'releasePublish' | 'releaseLink'>,
  build: Pick<Build, 'refType'>,
  values: TemplateValues,
): PublishNames | null {
  if (!rule.publish) return null;
  // A pull request publishes its kernel (`…-pr-N-{short}…`) and moves no link: a link says what a
  // branch or the latest release serves, and a PR is neither.
  if (build.refType === 'pull') return { kernel: renderTemplate(rule.publish, values), release: false };
  const release = build.refType === 'tag';
  const kernel = renderTemplate(release ? (rule.releasePublish ?? rule.publish) : rule.publish, values);
  const link = release ? rule.releaseLink : rule.link;
  return { kernel, ...(link ? { link: renderTemplate(link, values) } : {}), release };
}

/**
 * Why a pull request's kernel is not published under `publish`, or null when it is: without
 * `{branch}` (the PR's own `pr-<n>`, which no branch or tag slug can be: ref-slug.ts) the name
 * could be one a branch will want.
 */
export function pullPublishProblem(rule: Pick<BuildRule, 'publish'>): string | null {
  if (!rule.publish || rule.publish.includes('{branch}')) return null;
  return `publish "${rule.publish}" has no {branch}: a pull request's kernel is published only under a name with its pr-<number>`;
}

/** What the name-ownership check gets: every name written, and those any tag may take (the release link). */
export function ownedNames(names: PublishNames): [written: string[], sharedByTags: string[]] {
  return [
    names.link ? [names.kernel, names.link] : [names.kernel],
    names.release && names.link ? [names.link] : [],
  ];
}
