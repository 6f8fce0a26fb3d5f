/**
 * Name templates (`zero-os-{branch}-generic-{short}.efi`). Every value put into a name is made of
 * [A-Za-z0-9._-] only, so a branch like `feature/x` or `../../x` can never become a path.
 * `{branch}` is the ref's slug (domain/ref-slug.ts): injective over (ref type, name), so pushing
 * `-master`, `@/master`, tag `master` or `émaster` never yields the name `master` gives.
 */
import type { RefType } from './build.js';
import { refSlug } from './ref-slug.js';

export interface TemplateValues {
  repository: string;
  owner: string;
  name: string;
  branch: string;
  commit: string;
  short: string;
}

export const TEMPLATE_KEYS: readonly (keyof TemplateValues)[] = [
  'repository',
  'owner',
  'name',
  'branch',
  'commit',
  'short',
];

const MAX_VALUE_LENGTH = 100;

/** Replaces every run of characters outside [A-Za-z0-9._-] by `-`; never yields `.`/`..` or a leading dot. */
export function sanitizeNamePart(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, MAX_VALUE_LENGTH);
  return cleaned === '' ? '_' : cleaned;
}

/** The values of one build's names, each already safe as (part of) a name. */
export function templateValues(
  repository: string,
  refType: RefType,
  ref: string,
  commit: string,
): TemplateValues {
  const [owner = '', name = ''] = repository.split('/');
  return {
    repository: sanitizeNamePart(repository),
    owner: sanitizeNamePart(owner),
    name: sanitizeNamePart(name),
    branch: refSlug(refType, ref),
    commit: sanitizeNamePart(commit),
    short: sanitizeNamePart(commit.slice(0, 8)),
  };
}

/** Unknown placeholders are reported by config validation; here they are left as they are. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, key: string) =>
    (TEMPLATE_KEYS as readonly string[]).includes(key) ? values[key as keyof TemplateValues] : whole,
  );
}

export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1] ?? '')
    .filter((key) => !(TEMPLATE_KEYS as readonly string[]).includes(key));
}
