/**
 * The write endpoints: trigger, cancel, rebuild, approve, pause, resume. They live in one encapsulated
 * context whose hook checks write access (write-access.ts), so no route can forget the check.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isFinal, toNewBuild } from '../../domain/build.js';
import { COMMIT_SHA, PROJECT_LABEL } from '../../domain/identifiers.js';
import { isRepositoryName } from '../../domain/repository.js';
import { ruleKind } from '../../domain/rule.js';
import { AppError } from '../../errors.js';
import { refNameProblem } from '../../forge/github/ref-name.js';
import type { AppDeps } from '../app-deps.js';
import { presentBuild } from '../present.js';
import { registerWriteRoutes } from '../write-access.js';
import { loadBuild } from './builds.js';
import { waitReason } from '../wait-reason.js';

const refName = (kind: string) =>
  z.string().refine((b) => refNameProblem(b) === null, `not a valid git ${kind} name`);

/** `branch` or `tag` (exactly one): what `autobuilder trigger` and the monitor's Run form send. */
const triggerSchema = z
  .object({
    repository: z.string().refine(isRepositoryName, 'must be owner/name'),
    branch: refName('branch').optional(),
    tag: refName('tag').optional(),
    commit: z.string().regex(COMMIT_SHA, 'must be a full hexadecimal commit id').optional(),
    project: z.string().regex(PROJECT_LABEL).default('manual'),
  })
  .strict()
  .refine((body) => (body.branch === undefined) !== (body.tag === undefined), {
    message: 'give either "branch" or "tag"',
  });

export function registerBuildControlRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, configs, store, scheduler, mirrors } = deps;
  const present = (build: Parameters<typeof presentBuild>[0]) =>
    presentBuild(
      build,
      config.publicUrl,
      build.state === 'queued' ? waitReason(scheduler, build) : undefined,
    );

  registerWriteRoutes(app, config.apiTokens, (writes) => {
    writes.post('/api/builds', async (request, reply) => {
      if (request.body === undefined) throw new AppError('INVALID_PAYLOAD', 'empty body, expected JSON');
      const parsed = triggerSchema.safeParse(request.body);
      if (!parsed.success) {
        throw new AppError(
          'BAD_REQUEST',
          parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        );
      }
      const input = parsed.data;
      const repository = configs.configuredName(input.repository);
      const rule = repository ? configs.rules.get(repository) : undefined;
      if (!repository || !rule)
        throw new AppError('NOT_FOUND', `repository ${input.repository} is not configured`);
      input.repository = repository;
      // Not yet queued first and resolved by the pipeline (issue 18): a build record's commit is
      // required and names it everywhere (replay check, publish names, statuses), so a build
      // without one needs a state of its own in the store and the scheduler. Until then the branch
      // head is fetched here, bounded by git's 60 s deadline, and only without `commit`.
      const refType = input.tag !== undefined ? 'tag' : 'branch';
      const name = (input.tag ?? input.branch)!;
      const commit =
        input.commit ??
        (await mirrors.resolveRef(input.repository, refType, name).catch((error: Error) => {
          throw new AppError('UPSTREAM_FAILED', error.message);
        }));
      if (!commit) throw new AppError('NOT_FOUND', `${refType} ${name} not found in ${input.repository}`);
      const { build } = await scheduler.enqueue({
        project: input.project,
        repository: input.repository,
        refType,
        branch: name,
        commit,
        kind: ruleKind(rule),
        pusher: null,
        deliveryId: null,
        commits: [],
      });
      return reply.status(202).send(present(build));
    });

    // 200 with the build once it ended; 202 with it still running (`cancelRequested` set) when
    // another replica runs it and did not stop it within the wait (scheduler.cancel).
    writes.post<{ Params: { id: string } }>('/api/builds/:id/cancel', async (request, reply) => {
      const build = await loadBuild(store, request.params.id);
      if (isFinal(build.state))
        throw new AppError('CONFLICT', `build #${build.id} already ended (${build.state})`);
      const after = (await scheduler.cancel(build.id, 'cancelled by request'))!;
      return reply.status(isFinal(after.state) ? 200 : 202).send(present(after));
    });

    writes.post<{ Params: { id: string } }>('/api/builds/:id/approve', async (request) => {
      const build = await loadBuild(store, request.params.id);
      const approved = await store.approve(build.id);
      if (!approved)
        throw new AppError(
          'CONFLICT',
          `build #${build.id} is not awaiting approval (${build.state}${build.pull ? `, ${build.pull.approval}` : ', not a pull request'})`,
        );
      deps.logger.info({ build: approved.id }, `build #${approved.id} approved`);
      deps.bus.publishBuild(approved);
      scheduler.kick();
      return present(approved);
    });

    writes.post<{ Params: { id: string } }>('/api/builds/:id/rebuild', async (request, reply) => {
      const old = await loadBuild(store, request.params.id);
      if (!configs.rules.has(old.repository))
        throw new AppError('CONFLICT', `repository ${old.repository} is no longer configured`);
      const { build } = await scheduler.enqueue({ ...toNewBuild(old), retryOf: old.id });
      return reply.status(202).send(present(build));
    });

    // Stored before the answer: every replica pauses, and it stays paused across restarts.
    writes.post('/api/queue/pause', async () => {
      await scheduler.pause();
      return { paused: true };
    });

    writes.post('/api/queue/resume', async () => {
      await scheduler.resume();
      return { paused: false };
    });
  });
}
