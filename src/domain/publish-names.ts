/**
 * The names a build publishes. A branch build: `publish`, and `link` moved to it. A tag build is a
 * release: `release_publish` (default `publish`) and `release_link` moved to it when set; it never
 * moves `link`, so a tag cannot change what a branch's link serves. A release link is shared by all
 * tags of the rule (it names "the latest release"), never by a branch.
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
  const release = build.refType === 'tag';
  const kernel = renderTemplate(release ? (rule.releasePublish ?? rule.publish) : rule.publish, values);
  const link = release ? rule.releaseLink : rule.link;
  return { kernel, ...(link ? { link: renderTemplate(link, values) } : {}), release };
}

/** What the name-ownership check gets: every name written, and those any tag may take (the release link). */
export function ownedNames(names: PublishNames): [written: string[], sharedByTags: string[]] {
  return [
    names.link ? [names.kernel, names.link] : [names.kernel],
    names.release && names.link ? [names.link] : [],
  ];
}
