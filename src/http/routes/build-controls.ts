/**
 * The write endpoints: trigger, cancel, rebuild, pause, resume. They live in one encapsulated
 * context whose hook checks write access (write-access.ts), so no route can forget the check.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isFinal } from '../../domain/build.js';
import { isRepositoryName } from '../../domain/repository.js';
import { ruleKind } from '../../domain/rule.js';
import { AppError } from '../../errors.js';
import { refNameProblem } from '../../forge/github/ref-name.js';
import { toNewBuild } from '../../scheduler/scheduler.js';
import type { AppDeps } from '../app-deps.js';
import { parseJson } from '../body.js';
import { presentBuild } from '../present.js';
import { registerWriteRoutes } from '../write-access.js';
import { loadBuild } from './builds.js';

const triggerSchema = z
  .object({
    repository: z.string().refine(isRepositoryName, 'must be owner/name'),
    branch: z.string().refine((b) => refNameProblem(b) === null, 'not a valid git branch name'),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full hexadecimal commit id')
      .optional(),
    project: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/)
      .default('manual'),
  })
  .strict();

export function registerBuildControlRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, configs, store, scheduler, mirrors } = deps;
  const present = (build: Parameters<typeof presentBuild>[0]) =>
    presentBuild(
      build,
      config.publicUrl,
      build.state === 'queued' ? scheduler.waitReason(build.id) : undefined,
    );

  registerWriteRoutes(app, config.apiTokens, (writes) => {
    writes.post('/api/builds', async (request, reply) => {
      const parsed = triggerSchema.safeParse(parseJson(request.body));
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
      const commit =
        input.commit ??
        (await mirrors.resolveBranch(input.repository, input.branch).catch((error: Error) => {
          throw new AppError('UPSTREAM_FAILED', error.message);
        }));
      if (!commit) throw new AppError('NOT_FOUND', `branch ${input.branch} not found in ${input.repository}`);
      const { build } = await scheduler.enqueue({
        project: input.project,
        repository: input.repository,
        refType: 'branch',
        branch: input.branch,
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
