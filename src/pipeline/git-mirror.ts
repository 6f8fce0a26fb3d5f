/**
 * A bare mirror per repository on the host, so a build gets the exact pushed commit
 * (`git archive <sha>`), never "whatever the branch is now". git runs without a shell; every
 * value is an argument of its own.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { sanitizeNamePart } from '../domain/template.js';

const run = promisify(execFile);
const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: 'true',
  // Over HTTP(S): a transfer slower than 1 KB/s for a minute is given up, not waited on for good.
  GIT_HTTP_LOW_SPEED_LIMIT: '1000',
  GIT_HTTP_LOW_SPEED_TIME: '60',
};

/** A fetch that takes longer than this is killed: a git server that never answers holds no mirror. */
export const FETCH_TIMEOUT_MS = 10 * 60_000;

export function renderGitUrl(template: string, repository: string): string {
  const [owner = '', name = ''] = repository.split('/');
  return template
    .replaceAll('{repository}', repository)
    .replaceAll('{owner}', owner)
    .replaceAll('{name}', name);
}

export class GitMirrors {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** The URL this process last gave each mirror's `origin` (by mirror path). */
  private readonly urls = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly urlTemplate: string,
    private readonly fetchTimeoutMs = FETCH_TIMEOUT_MS,
  ) {}

  mirrorPath(repository: string): string {
    const [owner = '', name = ''] = repository.split('/');
    return join(this.root, sanitizeNamePart(owner), `${sanitizeNamePart(name)}.git`);
  }

  private async git(cwd: string, args: string[], timeout = 60_000): Promise<string> {
    try {
      const { stdout } = await run('git', args, { cwd, env: GIT_ENV, maxBuffer: 16 * 1024 * 1024, timeout });
      return stdout;
    } catch (error) {
      if ((error as { killed?: boolean }).killed) {
        throw new Error(`git ${args[0]} did not finish within ${Math.round(timeout / 1000)} s`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  private async hasCommit(path: string, sha: string): Promise<boolean> {
    if (!existsSync(path)) return false;
    return this.git(path, ['cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  }

  /** One fetch at a time per mirror. */
  private exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Creates the mirror when missing and fetches it; resolves null, or why the fetch failed. */
  private async fetch(
    path: string,
    url: string,
    log: (line: string) => void,
    ref?: string,
  ): Promise<string | null> {
    try {
      if (!existsSync(path)) {
        const partial = `${path}.partial-${process.pid}`;
        rmSync(partial, { recursive: true, force: true });
        mkdirSync(partial, { recursive: true });
        await this.git(partial, ['init', '--bare', '--quiet']);
        await this.git(partial, ['remote', 'add', '--mirror=fetch', 'origin', '--', url]);
        renameSync(partial, path);
        this.urls.set(path, url);
      }
      // The config may have moved the sources since the mirror was made: every fetch uses the URL
      // it gives now, never the one the mirror was created with. Set once per URL and process,
      // not before every fetch: a git process less on the way from a push to its first step.
      if (this.urls.get(path) !== url) {
        await this.git(path, ['remote', 'set-url', 'origin', '--', url]);
        this.urls.set(path, url);
      }
      log(`fetching ${url}`);
      await this.git(path, ['fetch', '--prune', '--quiet', 'origin'], this.fetchTimeoutMs);
      if (ref) {
        // Checked against its pattern first, so the refspec can never be read as an option.
        if (!/^refs\/pull\/[1-9][0-9]*\/head$/.test(ref)) return `not a pull request ref: ${ref}`;
        log(`fetching ${ref}`);
        await this.git(path, ['fetch', '--quiet', 'origin', `+${ref}:${ref}`], this.fetchTimeoutMs);
      }
      return null;
    } catch (error) {
      const message = ((error as { stderr?: string }).stderr || (error as Error).message).trim();
      return `git fetch of ${url} failed: ${message.split('\n').slice(-3).join(' ')}`;
    }
  }

  /**
   * Makes sure the mirror holds `sha`, fetching when it does not. Resolves null when it does,
   * else the reason it could not be had. `ref` (a pull request's `refs/pull/<n>/head`) is fetched
   * by name too: a fork's commit is on no branch of the repository, only there.
   */
  ensureCommit(
    repository: string,
    sha: string,
    log: (line: string) => void,
    ref?: string,
  ): Promise<string | null> {
    const path = this.mirrorPath(repository);
    return this.exclusive(path, async () => {
      if (await this.hasCommit(path, sha)) return null;
      const url = renderGitUrl(this.urlTemplate, repository);
      const failure = await this.fetch(path, url, log, ref);
      if (failure) return failure;
      return (await this.hasCommit(path, sha))
        ? null
        : `commit ${sha} not found in ${url}${ref ? ` (${ref})` : ''}`;
    });
  }

  /** The commit's tree as a tar stream, every entry under `prefix/`. */
  archive(repository: string, sha: string, prefix: string): Readable {
    const child = spawn('git', ['archive', '--format=tar', `--prefix=${prefix}/`, sha], {
      cwd: this.mirrorPath(repository),
      env: GIT_ENV,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.on('exit', (code) => {
      if (code !== 0) child.stdout.destroy(new Error(`git archive ${sha} exited with ${code}`));
    });
    return child.stdout;
  }

  /**
   * A file of the commit (`git cat-file blob <sha>:<path>`), null when the commit has none. Read
   * from the mirror at the exact commit, never from "the branch now". Larger than `maxBytes`: an
   * error, the file is not read.
   */
  async readFile(repository: string, sha: string, path: string, maxBytes: number): Promise<string | null> {
    const cwd = this.mirrorPath(repository);
    const object = `${sha}:${path}`;
    let type: string;
    try {
      type = (await this.git(cwd, ['cat-file', '-t', object])).trim();
    } catch {
      return null; // no such path in that commit
    }
    if (type !== 'blob') throw new Error(`${path} in ${sha.slice(0, 12)} is a ${type}, not a file`);
    const size = Number((await this.git(cwd, ['cat-file', '-s', object])).trim());
    if (size > maxBytes) throw new Error(`${path} is ${size} bytes, more than ${maxBytes}`);
    return this.git(cwd, ['cat-file', 'blob', object]);
  }

  /** The commit a branch points to after a fetch, or null when there is no such branch. */
  resolveBranch(repository: string, branch: string): Promise<string | null> {
    return this.resolveRef(repository, 'branch', branch);
  }

  /** The commit a branch or tag points to after a fetch, or null when there is no such ref. */
  async resolveRef(repository: string, refType: 'branch' | 'tag', name: string): Promise<string | null> {
    const path = this.mirrorPath(repository);
    const failure = await this.exclusive(path, () =>
      this.fetch(path, renderGitUrl(this.urlTemplate, repository), () => undefined),
    );
    if (failure) throw new Error(failure);
    const ref = `${refType === 'branch' ? 'refs/heads' : 'refs/tags'}/${name}^{commit}`;
    try {
      return (await this.git(path, ['rev-parse', '--verify', '--quiet', ref])).trim() || null;
    } catch {
      return null;
    }
  }
}
