/** `POST /build/:project/hook`: GitHub push webhooks in, queued builds out. */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { ruleKind } from '../../domain/rule.js';
import { checkSignature } from '../../forge/github/signature.js';
import { parsePush, PayloadError } from '../../forge/github/push-event.js';
import type { Delivery } from '../../store/store.js';
import type { AppDeps } from '../app-deps.js';
import { parseWebhookBody } from '../body.js';
import { presentBuild } from '../present.js';

const LABEL = /^[A-Za-z0-9._-]{1,100}$/;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function registerHookRoute(app: FastifyInstance, deps: AppDeps): void {
  const { config, store, scheduler } = deps;

  const answerDelivery = async (reply: FastifyReply, delivery: Delivery) => {
    if (delivery.outcome === 'ignored' || delivery.buildId === null) {
      return reply.status(202).send({ ignored: delivery.reason, duplicate: true });
    }
    const build = await store.getBuild(delivery.buildId);
    deps.logger.info(
      { delivery: delivery.deliveryId, event: delivery.event, build: delivery.buildId, outcome: 'duplicate' },
      `delivery ${delivery.deliveryId} ${delivery.event}: already built as #${delivery.buildId}`,
    );
    return reply.status(202).send({ ...presentBuild(build!, config.publicUrl), duplicate: true });
  };

  const ignore = async (
    reply: FastifyReply,
    deliveryId: string | undefined,
    event: string,
    reason: string,
    where: { repository?: string; ref?: string } = {},
  ) => {
    if (deliveryId) await store.recordIgnored(deliveryId, event, reason);
    deps.logger.info(
      { delivery: deliveryId ?? null, event, outcome: 'ignored', reason, ...where },
      `delivery ${deliveryId ?? '(no id)'} ${event}${where.repository ? ` ${where.repository} ${where.ref}` : ''}: ignored, ${reason}`,
    );
    return reply.status(202).send({ ignored: reason });
  };

  app.post<{ Params: { project: string } }>('/build/:project/hook', async (request, reply) => {
    const { project } = request.params;
    if (!LABEL.test(project))
      throw new AppError('BAD_REQUEST', 'project must be 1-100 characters of [A-Za-z0-9._-]');
    if (config.webhookSecret) {
      const problem = checkSignature(
        config.webhookSecret,
        Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        {
          sha256: header(request, 'x-hub-signature-256'),
          sha1: header(request, 'x-hub-signature'),
        },
      );
      if (problem) throw new AppError('BAD_SIGNATURE', problem);
    }
    const event = header(request, 'x-github-event');
    if (!event) throw new AppError('BAD_REQUEST', 'missing X-GitHub-Event header');
    const deliveryId = header(request, 'x-github-delivery');
    if (deliveryId !== undefined && !/^[A-Za-z0-9-]{1,100}$/.test(deliveryId)) {
      throw new AppError('BAD_REQUEST', 'X-GitHub-Delivery must be 1-100 characters of [A-Za-z0-9-]');
    }
    const seen = deliveryId ? await store.findDelivery(deliveryId) : null;
    // A redelivery of a push that made a build answers that build; one that was ignored is looked
    // at again, since the config may have changed since (GitHub's "Redeliver" after a fix).
    if (seen?.outcome === 'build') return answerDelivery(reply, seen);

    if (event === 'ping') return reply.status(200).send({ pong: true });
    if (event !== 'push')
      return ignore(reply, deliveryId, event.slice(0, 100), `event "${event.slice(0, 100)}" is not handled`);

    const payload = parseWebhookBody(request.body, request.headers['content-type']);
    let outcome;
    try {
      outcome = parsePush(payload);
    } catch (error) {
      if (error instanceof PayloadError) throw new AppError('INVALID_PAYLOAD', error.message);
      throw error;
    }
    if (outcome.kind === 'ignored') return ignore(reply, deliveryId, event, outcome.reason);
    const push = outcome.event;
    const rule = config.rules.get(push.repository);
    const where = { repository: push.repository, ref: `${push.refType} ${push.branch}` };
    if (!rule) return ignore(reply, deliveryId, event, 'repository not configured', where);

    const { build, created } = await scheduler.enqueue({
      project,
      repository: push.repository,
      refType: push.refType,
      branch: push.branch,
      commit: push.commit,
      kind: ruleKind(rule),
      pusher: push.pusher,
      deliveryId: deliveryId ?? null,
      commits: push.commits,
      // A replayed body (any delivery id) answers the build it made; see Store.createBuild.
      push: {
        before: push.before,
        bodySha256: createHash('sha256')
          .update(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0))
          .digest('hex'),
      },
    });
    deps.logger.info(
      {
        delivery: deliveryId ?? null,
        event,
        ...where,
        build: build.id,
        outcome: created ? 'queued' : 'duplicate',
      },
      `delivery ${deliveryId ?? '(no id)'} push ${where.repository} ${where.ref}: ${
        created ? `queued build #${build.id}` : `already built as #${build.id}`
      }`,
    );
    return reply
      .status(202)
      .send({ ...presentBuild(build, config.publicUrl), ...(created ? {} : { duplicate: true }) });
  });
}
