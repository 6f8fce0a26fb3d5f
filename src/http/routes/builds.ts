/** Build data: status, history, one build, and the write endpoints (trigger, cancel, rebuild, queue). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isFinal } from '../../domain/build.js';
import { isRepositoryName } from '../../domain/repository.js';
import { ruleKind } from '../../domain/rule.js';
import { AppError } from '../../errors.js';
import { refNameProblem } from '../../forge/github/ref-name.js';
import { toNewBuild } from '../../scheduler/scheduler.js';
import type { AppDeps } from '../app-deps.js';
import { requireToken } from '../auth.js';
import { parseJson } from '../body.js';
import { nextPage, parsePage, type PageQuery } from '../paging.js';
import { presentBuild } from '../present.js';

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

export function parseBuildId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new AppError('BAD_REQUEST', 'build id must be a positive integer');
  return Number(raw);
}

export function registerBuildRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, store, scheduler, mirrors } = deps;
  const present = (build: Parameters<typeof presentBuild>[0]) =>
    presentBuild(
      build,
      config.publicUrl,
      build.state === 'queued' ? scheduler.waitReason(build.id) : undefined,
    );

  const loadBuild = async (raw: string) => {
    const build = await store.getBuild(parseBuildId(raw));
    if (!build) throw new AppError('NOT_FOUND', `no build #${raw}`);
    return build;
  };

  // Running builds are few (at most `concurrency`); the queue can be long, so it is paged.
  app.get<{ Querystring: PageQuery }>('/build/status', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, 100, 500);
    const [running, queued, queuedCount] = await Promise.all([
      store.listRunning(),
      store.listQueued({ limit, after: cursor }),
      store.countQueued(),
    ]);
    return {
      paused: scheduler.isPaused,
      engine: scheduler.engineProblem ? { ok: false, problem: scheduler.engineProblem } : { ok: true },
      running: running.map(present),
      queued: queued.builds.map(present),
      counts: { running: running.length, queued: queuedCount },
      next: nextPage(reply, `${config.publicUrl}/build/status`, limit, queued.nextAfter),
    };
  });

  app.get<{ Querystring: PageQuery & { before?: string } }>('/build/history', async (request, reply) => {
    const { limit, cursor } = parsePage(request.query, 50, 500);
    // `before` is the older name of the cursor; still taken.
    const before =
      cursor ?? (request.query.before === undefined ? undefined : parseBuildId(request.query.before));
    const page = await store.listHistory({ limit, before });
    return {
      builds: page.builds.map(present),
      next: nextPage(reply, `${config.publicUrl}/build/history`, limit, page.nextBefore),
    };
  });

  app.get<{ Params: { id: string } }>('/api/builds/:id', async (request) =>
    present(await loadBuild(request.params.id)),
  );

  app.post('/api/builds', async (request, reply) => {
    requireToken(config.token, request);
    const parsed = triggerSchema.safeParse(parseJson(request.body));
    if (!parsed.success) {
      throw new AppError(
        'BAD_REQUEST',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    }
    const input = parsed.data;
    const rule = config.rules.get(input.repository);
    if (!rule) throw new AppError('NOT_FOUND', `repository ${input.repository} is not configured`);
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

  app.post<{ Params: { id: string } }>('/api/builds/:id/cancel', async (request) => {
    requireToken(config.token, request);
    const build = await loadBuild(request.params.id);
    if (isFinal(build.state))
      throw new AppError('CONFLICT', `build #${build.id} already ended (${build.state})`);
    return present((await scheduler.cancel(build.id, 'cancelled by request'))!);
  });

  app.post<{ Params: { id: string } }>('/api/builds/:id/rebuild', async (request, reply) => {
    requireToken(config.token, request);
    const old = await loadBuild(request.params.id);
    if (!config.rules.has(old.repository))
      throw new AppError('CONFLICT', `repository ${old.repository} is no longer configured`);
    const { build } = await scheduler.enqueue({ ...toNewBuild(old), retryOf: old.id });
    return reply.status(202).send(present(build));
  });

  app.post('/api/queue/pause', async (request) => {
    requireToken(config.token, request);
    scheduler.pause();
    return { paused: true };
  });

  app.post('/api/queue/resume', async (request) => {
    requireToken(config.token, request);
    scheduler.resume();
    return { paused: false };
  });
}
