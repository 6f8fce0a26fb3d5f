/** The CLI's way out: a message (and the config's problems) on stderr, exit code 1. */
import { AppError } from '../errors.js';
import { loadConfig, type ConfigProblem } from '../config/load-config.js';

export function fail(message: string, problems: ConfigProblem[] = []): never {
  process.stderr.write(`autobuilder: ${message}\n`);
  for (const problem of problems)
    process.stderr.write(`  - ${problem.path || '(top)'}: ${problem.message}\n`);
  process.exit(1);
}

export function load(file?: string) {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof AppError) fail(error.message, (error.details as ConfigProblem[]) ?? []);
    throw error;
  }
}
