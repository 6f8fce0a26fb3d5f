/**
 * `pull_request` deliveries on `POST /build/:project/hook` (hook.ts checks the signature and
 * parses the body): opened / synchronize / reopened queue a build of the head commit, closed
 * cancels the PR's builds. A fork's PR waits for approval unless its author is trusted.
 */
import type { FastifyReply } from 'fastify';
import { ruleKind } from '../../domain/rule.js';
import { gitRef } from '../../domain/git-ref.js';
import { isTrustedAuthor, pullRefName, type PullRequestFacts } from '../../domain/pull-request.js';
import { refFilteredOut } from '../../domain/ref-filter.js';
import { AppError } from '../../errors.js';
import { parsePullRequest } from '../../forge/github/pull-request-event.js';
import { PayloadError } from '../../forge/github/push-event.js';
import type { DeliveryAbout } from '../../store/store.js';
import type { AppDeps } from '../app-deps.js';
import { presentHookBuild } from '../present.js';

/** What hook.ts lends: its ways of answering, so every delivery is listed the same way. */
export interface HookAnswers {
  ignore(reason: string, about?: DeliveryAbout): Promise<FastifyReply>;
  refuse(error: AppError, about?: DeliveryAbout): Promise<never>;
}

export const CLOSED_REASON = 'pull request closed';

export async function pullRequestHook(
  deps: AppDeps,
  reply: FastifyReply,
  request: { project: string; deliveryId: string | undefined; payload: unknown; bodySha256: string },
  answers: HookAnswers,
): Promise<FastifyReply> {
  const { configs, scheduler, store } = deps;
  let outcome;
  try {
    outcome = parsePullRequest(request.payload);
  } catch (error) {
    if (error instanceof PayloadError) return answers.refuse(new AppError('INVALID_PAYLOAD', error.message));
    throw error;
  }
  const number = outcome.kind === 'build' ? outcome.event.number : outcome.number;
  const named = outcome.kind === 'build' ? outcome.event.repository : outcome.repository;
  const about = { repository: named, ref: gitRef('pull', pullRefName(number)) };
  const repository = configs.configuredName(named);
  const rule = repository ? configs.rules.get(repository) : undefined;
  if (!repository || !rule) return answers.ignore(`repository ${named} is not configured`, about);
  if (outcome.kind === 'ignored') return answers.ignore(outcome.reason, about);

  if (outcome.kind === 'closed') {
    const branch = pullRefName(number);
    const open = (await store.listActive()).filter(
      (b) => b.refType === 'pull' && b.branch === branch && configs.rules.get(b.repository) === rule,
    );
    for (const build of open) {
      // A running build stops in its own time (container removal); the answer does not wait.
      const cancelling = scheduler.cancel(build.id, CLOSED_REASON);
      if (build.state === 'queued') await cancelling;
      else
        cancelling.catch((error: unknown) =>
          deps.logger.warn({ err: error, build: build.id }, 'cancelling a closed pull request failed'),
        );
    }
    const ids = open.map((b) => `#${b.id}`).join(', ');
    const reason = `${CLOSED_REASON}${open.length ? `: cancelled ${ids}` : ''}`;
    if (request.deliveryId) await store.recordIgnored(request.deliveryId, 'pull_request', reason, about);
    deps.logger.info(
      { delivery: request.deliveryId ?? null, event: 'pull_request', ...about, outcome: 'closed' },
      `delivery ${request.deliveryId ?? '(no id)'} pull_request ${named} #${number}: ${reason}`,
    );
    return reply.status(202).send({ closed: number, cancelled: open.map((b) => b.id) });
  }

  const pr = outcome.event;
  // A PR is filtered by the branch it merges into: `branches: [master]` builds PRs to master.
  const filtered = refFilteredOut(rule, 'branch', pr.baseBranch, `repositories.${repository}`);
  if (filtered) return answers.ignore(`pull request #${number} into ${filtered}`, about);
  // The sender too: on `synchronize` it is whoever pushed to the fork's branch, which the
  // trusted author may have opened to others; their commits wait like any stranger's.
  const trustedLogins = rule.trustedAuthors ?? [];
  const trusted =
    !pr.fork ||
    (isTrustedAuthor(pr.author, trustedLogins) &&
      (pr.sender === null || isTrustedAuthor(pr.sender, trustedLogins)));
  const pull: PullRequestFacts = {
    number,
    title: pr.title,
    baseBranch: pr.baseBranch,
    headRepository: pr.headRepository,
    fork: pr.fork,
    author: pr.author,
    approval: trusted ? 'none' : 'awaiting',
  };
  const action = (request.payload as { action: string }).action;
  const { build, created } = await scheduler
    .enqueue({
      project: request.project,
      repository,
      refType: 'pull',
      branch: pullRefName(number),
      commit: pr.headSha,
      kind: ruleKind(rule),
      pusher: pr.sender ?? pr.author,
      deliveryId: request.deliveryId ?? null,
      commits: [],
      pull,
      // A replayed body answers the build it made. Reopening is like making a deleted ref again:
      // the same head builds again (closing cancelled its builds).
      push: { before: action === 'reopened' ? '0'.repeat(40) : null, bodySha256: request.bodySha256 },
    })
    .catch((error: unknown) =>
      error instanceof AppError && error.code === 'QUEUE_FULL'
        ? answers.refuse(error, about)
        : Promise.reject(error),
    );
  deps.logger.info(
    {
      delivery: request.deliveryId ?? null,
      event: 'pull_request',
      ...about,
      build: build.id,
      outcome: created ? 'queued' : 'duplicate',
    },
    `delivery ${request.deliveryId ?? '(no id)'} pull_request ${named} #${number} ${action}: ${
      created
        ? `queued build #${build.id}${trusted ? '' : ' (waiting for approval)'}`
        : `already built as #${build.id}`
    }`,
  );
  return reply
    .status(202)
    .send({ ...presentHookBuild(build, deps.config.publicUrl), ...(created ? {} : { duplicate: true }) });
}
