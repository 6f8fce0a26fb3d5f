/**
 * The configured rules, by repository name. A rule can have aliases (a renamed repository's old
 * name): `get` and `has` answer for an alias too, with the rule itself, whose `repository` is the
 * canonical name. Iteration (`keys`, `values`, `entries`, `size`) sees each rule once, under its
 * canonical name, so whatever lists "the configured repositories" (webhook setup, `config check`)
 * never counts a repository twice.
 */
import type { BuildRule, RuleLookup } from './rule.js';

export class RuleSet extends Map<string, BuildRule> {
  private readonly aliasOf = new Map<string, string>();

  constructor(rules: Iterable<BuildRule> = []) {
    super();
    for (const rule of rules) this.add(rule);
  }

  add(rule: BuildRule): this {
    super.set(rule.repository, rule);
    for (const alias of rule.aliases ?? []) this.aliasOf.set(alias, rule.repository);
    return this;
  }

  override get(name: string): BuildRule | undefined {
    return super.get(name) ?? super.get(this.aliasOf.get(name) ?? '');
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/**
 * The name builds of a repository are grouped under (same-ref exclusion, base builds, queue
 * grouping): its rule's canonical name, or the name itself when no rule knows it. Works on a
 * plain Map too (rules given without aliases).
 */
export function canonicalName(rules: RuleLookup, repository: string): string {
  return rules.get(repository)?.repository ?? repository;
}

/** Every name the base of `repository`'s rule has (its canonical name and aliases); none without a base. */
export function baseNames(rules: RuleLookup, repository: string): string[] | undefined {
  const base = rules.get(repository)?.base;
  if (!base) return undefined;
  const rule = rules.get(base);
  return [base, ...(rule?.aliases ?? [])];
}
