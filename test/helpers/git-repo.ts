/** Local git repositories standing in for GitHub: a bare repo plus a work tree that pushes to it. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
};

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

export class LocalRepo {
  readonly work: string;

  /** `root/{owner}/{name}.git` is the bare repo, matching a `git.url` of `root/{repository}.git`. */
  constructor(
    readonly root: string,
    readonly repository: string,
  ) {
    this.work = mkdtempSync(join(tmpdir(), 'ab-work-'));
    const bare = this.bare;
    mkdirSync(bare, { recursive: true });
    git(bare, ['init', '--bare', '--quiet', '--initial-branch=master']);
    git(this.work, ['init', '--quiet', '--initial-branch=master']);
    git(this.work, ['remote', 'add', 'origin', bare]);
  }

  get bare(): string {
    return join(this.root, `${this.repository}.git`);
  }

  /** Commits the files on `branch` and pushes; returns the commit id. */
  commit(branch: string, files: Record<string, string | Buffer>, message = 'change'): string {
    const branches = git(this.work, ['branch', '--list']);
    if (branches === '') git(this.work, ['checkout', '--quiet', '-b', branch]);
    else git(this.work, ['checkout', '--quiet', '-B', branch]);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.work, path)), { recursive: true });
      writeFileSync(join(this.work, path), content);
    }
    git(this.work, ['add', '-A']);
    git(this.work, ['commit', '--quiet', '--allow-empty', '-m', message]);
    git(this.work, ['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`]);
    return git(this.work, ['rev-parse', 'HEAD']);
  }
}

/**
 * Commits `files` on top of `base` and sets `refs/pull/<number>/head` of the bare repo to it
 * (`git update-ref`), as GitHub keeps a pull request's head in the base repository; no branch
 * of the bare repo has the commit.
 */
export function pullRequestHead(
  repo: LocalRepo,
  number: number,
  base: string,
  files: Record<string, string | Buffer>,
): string {
  git(repo.work, ['checkout', '--quiet', '-B', `pull-${number}`, base]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo.work, path)), { recursive: true });
    writeFileSync(join(repo.work, path), content);
  }
  git(repo.work, ['add', '-A']);
  git(repo.work, ['commit', '--quiet', '--allow-empty', '-m', `pull request ${number}`]);
  const commit = git(repo.work, ['rev-parse', 'HEAD']);
  // The objects first (a throwaway ref), then the PR ref, then the throwaway ref goes.
  git(repo.work, ['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/tmp-pull-${number}`]);
  git(repo.bare, ['update-ref', `refs/pull/${number}/head`, commit]);
  git(repo.bare, ['update-ref', '-d', `refs/heads/tmp-pull-${number}`]);
  return commit;
}

export function gitRoot(): string {
  return mkdtempSync(join(tmpdir(), 'ab-git-'));
}
