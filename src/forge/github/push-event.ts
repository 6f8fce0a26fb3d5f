/** A GitHub push payload → the PushEvent a build is made from. */
import { z } from 'zod';
import type { PushedCommit, RefType } from '../../domain/build.js';
import { refNameProblem } from './ref-name.js';
import { REPOSITORY_PATTERN } from '../../domain/repository.js';
import { COMMIT_SHA } from '../../domain/identifiers.js';

export interface PushEvent {
  repository: string;
  refType: RefType;
  branch: string;
  commit: string;
  /** The commit the ref pointed to before (all zeros for a new ref); null when not given. */
  before: string | null;
  pusher: string | null;
  commits: PushedCommit[];
}

export type PushOutcome = { kind: 'push'; event: PushEvent } | { kind: 'ignored'; reason: string };

const MAX_COMMITS = 2048;

const commitSchema = z.object({
  id: z.string(),
  message: z.string().default(''),
  url: z.string().default(''),
  author: z.object({ name: z.string().optional(), username: z.string().optional() }).partial().nullish(),
});

const pushSchema = z.object({
  ref: z.string().min(1),
  after: z.string().regex(COMMIT_SHA, 'must be a 40 (or 64) character hexadecimal commit id'),
  before: z.unknown().optional(),
  deleted: z.boolean().optional(),
  repository: z.object({
    full_name: z.string().regex(REPOSITORY_PATTERN, 'must be owner/name'),
  }),
  pusher: z.object({ name: z.string().optional() }).partial().nullish(),
  head_commit: commitSchema.nullish(),
  commits: z.array(commitSchema).max(MAX_COMMITS).nullish(),
});

export class PayloadError extends Error {}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ');
}

export function parsePush(payload: unknown): PushOutcome {
  const parsed = pushSchema.safeParse(payload);
  if (!parsed.success) throw new PayloadError(describe(parsed.error));
  const push = parsed.data;
  if (push.deleted === true || /^0+$/.test(push.after)) return { kind: 'ignored', reason: 'ref deleted' };

  let refType: RefType;
  let branch: string;
  if (push.ref.startsWith('refs/heads/')) {
    refType = 'branch';
    branch = push.ref.slice('refs/heads/'.length);
  } else if (push.ref.startsWith('refs/tags/')) {
    refType = 'tag';
    branch = push.ref.slice('refs/tags/'.length);
  } else {
    throw new PayloadError(`ref: "${push.ref.slice(0, 100)}" is neither refs/heads/… nor refs/tags/…`);
  }
  const problem = refNameProblem(branch);
  if (problem) throw new PayloadError(`ref: ${problem}`);

  const commits = (push.commits ?? (push.head_commit ? [push.head_commit] : [])).map((c): PushedCommit => ({
    sha: c.id.slice(0, 64),
    message: c.message.slice(0, 4096),
    author: (c.author?.name ?? c.author?.username ?? '').slice(0, 200),
    url: /^https?:\/\//.test(c.url) ? c.url.slice(0, 500) : '',
  }));
  return {
    kind: 'push',
    event: {
      repository: push.repository.full_name,
      refType,
      branch,
      commit: push.after,
      before: typeof push.before === 'string' && COMMIT_SHA.test(push.before) ? push.before : null,
      pusher: push.pusher?.name?.slice(0, 200) ?? null,
      commits,
    },
  };
}
