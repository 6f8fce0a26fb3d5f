/** Building and signing push webhooks the way GitHub sends them. */
import { createHmac, randomUUID } from 'node:crypto';

export interface PushOptions {
  repository: string;
  branch: string;
  commit: string;
  message?: string;
  author?: string;
  ref?: string;
  /** GitHub's `before`: the commit the ref pointed to (default: all zeros, a new ref). */
  before?: string;
}

export function pushPayload(options: PushOptions): Record<string, unknown> {
  const commit = {
    id: options.commit,
    message: options.message ?? 'a change',
    url: `https://github.com/${options.repository}/commit/${options.commit}`,
    author: { name: options.author ?? 'Test Author', username: 'tester' },
  };
  return {
    ref: options.ref ?? `refs/heads/${options.branch}`,
    before: options.before ?? '0'.repeat(40),
    after: options.commit,
    created: true,
    deleted: false,
    commits: [commit],
    head_commit: commit,
    repository: { full_name: options.repository, name: options.repository.split('/')[1] },
    pusher: { name: 'tester' },
  };
}

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookHeaders(
  body: string,
  options: { secret?: string; event?: string; delivery?: string; contentType?: string } = {},
): Record<string, string> {
  return {
    'content-type': options.contentType ?? 'application/json',
    'x-github-event': options.event ?? 'push',
    'x-github-delivery': options.delivery ?? randomUUID(),
    ...(options.secret ? { 'x-hub-signature-256': sign(options.secret, body) } : {}),
  };
}

export interface PullRequestOptions {
  /** The base repository (the configured one). */
  repository: string;
  number: number;
  headSha: string;
  action?: string;
  title?: string;
  headRef?: string;
  /** The head's repository (default: the base one, a PR from a branch of its own). */
  headRepository?: string;
  baseBranch?: string;
  author?: string;
  /** Who caused the event (default: the author); on `synchronize`, whoever pushed. */
  sender?: string;
}

/** A `pull_request` payload in the shape of GitHub's (test/fixtures/pull-request-opened.json). */
export function pullRequestPayload(options: PullRequestOptions): Record<string, unknown> {
  const author = { login: options.author ?? 'tester', id: 1, type: 'User' };
  const repo = (full: string) => ({
    full_name: full,
    name: full.split('/')[1],
    fork: full !== options.repository,
    clone_url: `https://github.com/${full}.git`,
  });
  return {
    action: options.action ?? 'opened',
    number: options.number,
    pull_request: {
      number: options.number,
      state: options.action === 'closed' ? 'closed' : 'open',
      title: options.title ?? `change number ${options.number}`,
      user: author,
      head: {
        ref: options.headRef ?? 'feature',
        sha: options.headSha,
        repo: repo(options.headRepository ?? options.repository),
      },
      base: { ref: options.baseBranch ?? 'master', repo: repo(options.repository) },
    },
    repository: repo(options.repository),
    sender: options.sender ? { login: options.sender, id: 2, type: 'User' } : author,
  };
}
