/** The image repositories the rules commit to (`commit: zero-os/initramfs:{branch}` → `zero-os/initramfs`). */
import { splitImageTemplate } from '../domain/base-image.js';
import type { BuildRule } from '../domain/rule.js';
import { renderTemplate, templateValues } from '../domain/template.js';

export function committedRepositories(rules: ReadonlyMap<string, BuildRule>): string[] {
  const repos = new Set<string>();
  for (const rule of rules.values()) {
    if (!rule.commit) continue;
    const values = templateValues(rule.repository, 'branch', 'master', '');
    repos.add(renderTemplate(splitImageTemplate(rule.commit).repo, values).toLowerCase());
  }
  return [...repos];
}
