/**
 * The config the service runs with now. A reload (SIGHUP, `POST /api/config/reload`,
 * `autobuilder config reload`) swaps it whole, or not at all when the file is invalid. Rules are
 * read through `rules` at enqueue and launch time; a running build keeps the rule it started with.
 * Settings used while composing the service (port, database, directories, concurrency…) take
 * effect at the next start: a reload names the ones that changed.
 */
import type { BuildRule, RuleLookup } from '../domain/rule.js';
import { AppError } from '../errors.js';
import type { Config } from './config.js';
import type { ConfigProblem } from './schema.js';

/** Read on every request or build: these follow a reload. Anything else needs a restart. */
const LIVE_KEYS = new Set<keyof Config>(['rules', 'webhookSecret', 'source', 'revision']);

export type ReloadResult =
  | { ok: true; revision: string; previous: string; loadedAt: string; restartNeeded: string[] }
  | { ok: false; revision: string; message: string; problems: ConfigProblem[] };

export class ConfigHolder {
  private config: Config;
  private byLowerName = new Map<string, string>();
  private loaded: string;

  constructor(
    initial: Config,
    /** Reads the file again (loadConfig with the options the service started with). */
    private readonly load: () => Config,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.config = initial;
    this.loaded = now().toISOString();
    this.index();
  }

  current(): Config {
    return this.config;
  }

  get loadedAt(): string {
    return this.loaded;
  }

  /** The live rules: each `get` reads the config of the moment. */
  readonly rules: RuleLookup = {
    get: (repository: string): BuildRule | undefined => this.config.rules.get(repository),
    has: (repository: string): boolean => this.config.rules.has(repository),
  };

  /** The configured spelling of `repository`, matched ignoring case as GitHub does; null if none. */
  configuredName(repository: string): string | null {
    return this.byLowerName.get(repository.toLowerCase()) ?? null;
  }

  reload(): ReloadResult {
    let next: Config;
    try {
      next = this.load();
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return {
        ok: false,
        revision: this.config.revision,
        message: error.message,
        problems: (error.details as ConfigProblem[] | undefined) ?? [],
      };
    }
    const previous = this.config;
    const restartNeeded = (Object.keys(next) as (keyof Config)[]).filter(
      (key) => !LIVE_KEYS.has(key) && JSON.stringify(next[key]) !== JSON.stringify(previous[key]),
    );
    this.config = next;
    this.loaded = this.now().toISOString();
    this.index();
    return {
      ok: true,
      revision: next.revision,
      previous: previous.revision,
      loadedAt: this.loaded,
      restartNeeded,
    };
  }

  /** Every name a rule answers to: its own and its aliases (a renamed repository's old names). */
  private index(): void {
    this.byLowerName = new Map(
      [...this.config.rules.values()]
        .flatMap((rule) => [rule.repository, ...(rule.aliases ?? [])])
        .map((name) => [name.toLowerCase(), name]),
    );
  }
}
