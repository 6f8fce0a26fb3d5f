/**
 * A GitHub `pull_request` payload → what the service does with it: build the head commit
 * (opened, synchronize, reopened), cancel the PR's builds (closed), or ignore it (every other
 * action: labeled, edited, review_requested, …). Unknown fields are ignored, so GitHub's full
 * payloads (test/fixtures/pull-request-*.json) parse as they come.
 */
import { z } from 'zod';
import { REPOSITORY_PATTERN } from '../../domain/repository.js';
import { refNameProblem } from './ref-name.js';
import { PayloadError } from './push-event.js';

export interface PullRequestEvent {
  /** The base repository: the one configured, whose builds these are. */
  repository: string;
  number: number;
  title: string;
  headSha: string;
  headRef: string;
  /** `owner/name` of the head; a fork deleted since is `(deleted fork)`. */
  headRepository: string;
  baseBranch: string;
  /** The head is not the base repository (compared case-insensitively, as GitHub names are). */
  fork: boolean;
  author: string;
  sender: string | null;
}

export type PullRequestOutcome =
  | { kind: 'build'; event: PullRequestEvent }
  | { kind: 'closed'; repository: string; number: number }
  | { kind: 'ignored'; repository: string; number: number; reason: string };

const BUILT_ACTIONS = ['opened', 'synchronize', 'reopened'];
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const repoName = z.string().regex(REPOSITORY_PATTERN, 'must be owner/name');

const schema = z.object({
  action: z.string().min(1).max(100),
  // The store keeps it in an `integer` column: PostgreSQL's is 32-bit (as GitHub's PR numbers are),
  // and a larger one would be a database error (500) instead of a 400.
  number: z.number().int().min(1).max(2_147_483_647),
  pull_request: z.object({
    number: z.number().int().optional(),
    title: z.string().default(''),
    user: z.object({ login: z.string().min(1).max(100) }),
    head: z.object({
      ref: z.string().min(1),
      sha: z.string().regex(SHA, 'must be a 40 (or 64) character hexadecimal commit id'),
      // GitHub sends null when the fork was deleted.
      repo: z.object({ full_name: repoName }).nullish(),
    }),
    base: z.object({ ref: z.string().min(1), repo: z.object({ full_name: repoName }) }),
  }),
  repository: z.object({ full_name: repoName }),
  sender: z
    .object({ login: z.string().max(100) })
    .partial()
    .nullish(),
});

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ');
}

export function parsePullRequest(payload: unknown): PullRequestOutcome {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new PayloadError(describe(parsed.error));
  const { action, number, pull_request: pr, repository, sender } = parsed.data;
  if (pr.number !== undefined && pr.number !== number)
    throw new PayloadError(`pull_request.number (${pr.number}) is not number (${number})`);
  const base = { repository: repository.full_name, number };
  if (action === 'closed') return { kind: 'closed', ...base };
  if (!BUILT_ACTIONS.includes(action))
    return { kind: 'ignored', ...base, reason: `pull_request action "${action}" is not built` };
  const problem = refNameProblem(pr.base.ref);
  if (problem) throw new PayloadError(`pull_request.base.ref: ${problem}`);
  const head = pr.head.repo?.full_name ?? null;
  return {
    kind: 'build',
    event: {
      repository: repository.full_name,
      number,
      // One line, bounded: it is shown in lists and a commit status.
      title: pr.title.replace(/\s+/g, ' ').trim().slice(0, 300),
      headSha: pr.head.sha,
      headRef: pr.head.ref.slice(0, 255),
      headRepository: head ?? '(deleted fork)',
      baseBranch: pr.base.ref,
      fork: head === null || head.toLowerCase() !== pr.base.repo.full_name.toLowerCase(),
      author: pr.user.login,
      sender: sender?.login ?? null,
    },
  };
}
