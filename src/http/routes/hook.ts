/** `POST /build/:project/hook`: GitHub push (and pull_request, pull-request-hook.ts) webhooks in, queued builds out. */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { ruleKind } from '../../domain/rule.js';
import { checkSignature } from '../../forge/github/signature.js';
import { parsePush, PayloadError } from '../../forge/github/push-event.js';
import type { Delivery, DeliveryAbout } from '../../store/store.js';
import { refFilteredOut } from '../../domain/ref-filter.js';
import { gitRef } from '../../domain/git-ref.js';
import { PROJECT_LABEL } from '../../domain/identifiers.js';
import type { AppDeps } from '../app-deps.js';
import { parseWebhookBody, registerRawBodies } from '../body.js';
import { presentHookBuild } from '../present.js';
import { pullRequestHook } from './pull-request-hook.js';

/** What an unparsed payload names, for the delivery list; nothing it says is trusted further. */
function aboutPayload(payload: unknown, known: DeliveryAbout = {}): DeliveryAbout {
  const record = (payload ?? {}) as { ref?: unknown; repository?: { full_name?: unknown } };
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 300) : null);
  return { repository: text(record.repository?.full_name), ref: text(record.ref), ...known };
}

const bodySha256 = (body: unknown) =>
  createHash('sha256')
    .update(Buffer.isBuffer(body) ? body : Buffer.alloc(0))
    .digest('hex');

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The webhook in its own encapsulated context: the raw-body parser and the latency metric hook
 * apply to this route and to no other.
 */
export function registerHookRoute(app: FastifyInstance, deps: AppDeps): void {
  void app.register(async (context) => {
    registerRawBodies(context);
    context.addHook('onResponse', async (_request, reply) => {
      deps.metrics.webhookDuration.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    hookRoute(context, deps);
  });
}

function hookRoute(app: FastifyInstance, deps: AppDeps): void {
  const { configs, store, scheduler } = deps;
  const config = deps.config;

  const answerDelivery = async (reply: FastifyReply, delivery: Delivery) => {
    if (delivery.outcome === 'ignored' || delivery.buildId === null) {
      return reply.status(202).send({ ignored: delivery.reason, duplicate: true });
    }
    const build = await store.getBuild(delivery.buildId);
    deps.logger.info(
      { delivery: delivery.deliveryId, event: delivery.event, build: delivery.buildId, outcome: 'duplicate' },
      `delivery ${delivery.deliveryId} ${delivery.event}: already built as #${delivery.buildId}`,
    );
    return reply.status(202).send({ ...presentHookBuild(build!, config.publicUrl), duplicate: true });
  };

  const ignore = async (
    reply: FastifyReply,
    deliveryId: string | undefined,
    event: string,
    reason: string,
    about: DeliveryAbout = {},
  ) => {
    if (deliveryId) await store.recordIgnored(deliveryId, event, reason, about);
    deps.logger.info(
      { delivery: deliveryId ?? null, event, outcome: 'ignored', reason, ...about },
      `delivery ${deliveryId ?? '(no id)'} ${event}${about.repository ? ` ${about.repository} ${about.ref ?? ''}` : ''}: ignored, ${reason}`,
    );
    return reply.status(202).send({ ignored: reason });
  };

  /** A push refused after its signature was checked is listed too, then answered from the table. */
  const refuse = async (
    deliveryId: string | undefined,
    event: string,
    error: AppError,
    about: DeliveryAbout = {},
  ): Promise<never> => {
    if (deliveryId)
      await store
        .recordIgnored(deliveryId, event, error.message.slice(0, 500), { ...about, outcome: 'refused' })
        .catch(() => undefined); // the database being away is what the answer (503) says already
    throw error;
  };

  app.post<{ Params: { project: string } }>('/build/:project/hook', async (request, reply) => {
    const { project } = request.params;
    if (!PROJECT_LABEL.test(project))
      throw new AppError('BAD_REQUEST', 'project must be 1-100 characters of [A-Za-z0-9._-]');
    // The secret of the moment: a reload may change it.
    const { webhookSecret } = configs.current();
    if (webhookSecret) {
      const problem = checkSignature(
        webhookSecret,
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
    if (event !== 'push' && event !== 'pull_request')
      return ignore(reply, deliveryId, event.slice(0, 100), `event "${event.slice(0, 100)}" is not handled`);

    let payload: unknown;
    try {
      payload = parseWebhookBody(request.body, request.headers['content-type']);
    } catch (error) {
      if (error instanceof AppError) return refuse(deliveryId, event, error);
      throw error;
    }
    if (event === 'pull_request')
      return pullRequestHook(
        deps,
        reply,
        { project, deliveryId, payload, bodySha256: bodySha256(request.body) },
        {
          ignore: (reason, about) => ignore(reply, deliveryId, event, reason, about),
          refuse: (error, about) => refuse(deliveryId, event, error, aboutPayload(payload, about)),
        },
      );
    let outcome;
    try {
      outcome = parsePush(payload);
    } catch (error) {
      if (error instanceof PayloadError)
        return refuse(
          deliveryId,
          event,
          new AppError('INVALID_PAYLOAD', error.message),
          aboutPayload(payload),
        );
      throw error;
    }
    if (outcome.kind === 'ignored')
      return ignore(reply, deliveryId, event, outcome.reason, aboutPayload(payload));
    const push = outcome.event;
    const about = { repository: push.repository, ref: gitRef(push.refType, push.branch) };
    // GitHub's owner/name ignore case: the build carries the configured spelling.
    const repository = configs.configuredName(push.repository);
    const rule = repository ? configs.rules.get(repository) : undefined;
    if (!repository || !rule)
      return ignore(reply, deliveryId, event, `repository ${push.repository} is not configured`, about);
    const filtered = refFilteredOut(rule, push.refType, push.branch, `repositories.${repository}`);
    if (filtered) return ignore(reply, deliveryId, event, filtered, about);

    const enqueued = scheduler.enqueue({
      project,
      repository,
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
        bodySha256: bodySha256(request.body),
      },
    });
    const { build, created } = await enqueued.catch((error: unknown) =>
      error instanceof AppError && error.code === 'QUEUE_FULL'
        ? refuse(deliveryId, event, error, about)
        : Promise.reject(error),
    );
    deps.logger.info(
      {
        delivery: deliveryId ?? null,
        event,
        ...about,
        build: build.id,
        outcome: created ? 'queued' : 'duplicate',
      },
      `delivery ${deliveryId ?? '(no id)'} push ${push.repository} ${push.refType} ${push.branch}: ${
        created ? `queued build #${build.id}` : `already built as #${build.id}`
      }`,
    );
    return reply
      .status(202)
      .send({ ...presentHookBuild(build, config.publicUrl), ...(created ? {} : { duplicate: true }) });
  });
}
