/**
 * `secrets:` of a rule: a value, `{file: path}` (read at load and at each reload, trailing newline
 * dropped) or `{env: NAME}` (the service's environment). Resolved values go to builds as
 * environment variables and are masked in their logs; a reference that cannot be resolved is a
 * config problem like any other.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigProblem } from './schema.js';
import { MIN_SECRET_LENGTH } from '../domain/mask-secrets.js';

export type SecretSource = string | { file: string } | { env: string };

export function resolveSecrets(
  repository: string,
  secrets: Record<string, SecretSource>,
  env: NodeJS.ProcessEnv,
  cwd: string,
  problems: ConfigProblem[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, source] of Object.entries(secrets)) {
    const path = `repositories.${repository}.secrets.${name}`;
    let value: string | undefined;
    if (typeof source === 'string') value = source;
    else if ('file' in source) {
      try {
        value = readFileSync(resolve(cwd, source.file), 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        problems.push({ path: `${path}.file`, message: `cannot read: ${(error as Error).message}` });
        continue;
      }
    } else {
      value = env[source.env];
      if (value === undefined) {
        problems.push({ path: `${path}.env`, message: `${source.env} is not set in the environment` });
        continue;
      }
    }
    if (value.length < MIN_SECRET_LENGTH) {
      problems.push({
        path,
        message: `at least ${MIN_SECRET_LENGTH} characters (shorter values cannot be masked)`,
      });
      continue;
    }
    values[name] = value;
  }
  return values;
}
