/** Checks of the config across its keys and rules (load-config.ts runs them beside schema.ts's). */
import type { ConfigProblem } from './schema.js';
import { checkRules } from './rule-checks.js';
import { crossCheckEngines } from './engines-schema.js';

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks across rules, run on the raw file even when field checks fail, so every problem is
 * reported at once.
 */
export function crossCheck(raw: Loose): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (raw.token !== undefined && raw.webhook_secret !== undefined)
    problems.push({ path: 'token', message: 'set only webhook_secret ("token" is its old name)' });
  const secret = raw.webhook_secret ?? raw.token;
  if (Array.isArray(raw.api_tokens) && typeof secret === 'string' && raw.api_tokens.includes(secret))
    problems.push({ path: 'api_tokens', message: 'an API token must differ from the webhook secret' });
  problems.push(...crossCheckEngines(raw));
  const repositories = isRecord(raw.repositories) ? raw.repositories : {};
  // GitHub names are case-insensitive: a push for Zero-OS/Core0 finds zero-os/core0 (config-holder.ts).
  const seenNames = new Map<string, string>();
  for (const repository of Object.keys(repositories)) {
    const other = seenNames.get(repository.toLowerCase());
    if (other)
      problems.push({
        path: `repositories.${repository}`,
        message: `same repository as ${other} (GitHub names ignore case)`,
      });
    seenNames.set(repository.toLowerCase(), repository);
  }
  problems.push(...checkRules(repositories));
  // With no API token, writes are answered to loopback clients only; a build on the host's
  // network is a loopback client, so it could pause the queue or cancel other builds.
  const hasApiToken = Array.isArray(raw.api_tokens) && raw.api_tokens.length > 0;
  for (const [repository, value] of Object.entries(repositories)) {
    if (isRecord(value) && value.network === 'host' && !hasApiToken)
      problems.push({
        path: `repositories.${repository}.network`,
        message: '"host" lets the build reach the service on loopback: set api_tokens (API_TOKEN) first',
      });
  }
  return problems;
}
