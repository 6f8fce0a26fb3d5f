/**
 * Live streams for the monitor, as Server-Sent Events: build changes (`/api/events`, with the
 * running builds' log tails on `?tails=1`) and one build's log bytes with its own build changes
 * (`/api/builds/:id/log/stream`): one connection per page. docs/monitor.md describes both.
 * Every stream counts against the watcher caps (streams.* in the config).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Build } from '../../domain/build.js';
import { AppError } from '../../errors.js';
import { Broadcast } from '../../live/broadcast.js';
import { BuildFeed } from '../../live/build-feed.js';
import { tailStart } from '../../live/log-tail.js';
import { streamBuildLog } from '../../live/log-stream.js';
import { formatSse, SseStream } from '../../live/sse.js';
import { TailHub } from '../../live/tail-hub.js';
import { Watchers } from '../../live/watchers.js';
import type { AppDeps } from '../app-deps.js';
import { presentBuildSummary } from '../present.js';
import { parseBuildId } from '../params.js';
import { waitReason } from '../wait-reason.js';

interface EventsQuery {
  tails?: string;
}

interface StreamQuery {
  offset?: string;
  tail?: string;
}

function parseBytes(raw: string, what: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new AppError('BAD_REQUEST', `${what} must be a byte count`);
  return Number(raw);
}

/** Where a log reader starts: Last-Event-ID (EventSource resuming), then ?offset=, then ?tail=. */
function startOffset(request: FastifyRequest<{ Querystring: StreamQuery }>, build: Build): number {
  const lastEventId = request.headers['last-event-id'];
  if (typeof lastEventId === 'string' && lastEventId !== '') return parseBytes(lastEventId, 'Last-Event-ID');
  if (request.query.offset !== undefined) return parseBytes(request.query.offset, 'offset');
  if (request.query.tail !== undefined)
    return tailStart(build.logPath, parseBytes(request.query.tail, 'tail'));
  return 0;
}

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { bus, store, scheduler, config, metrics } = deps;
  const watchers = new Watchers({
    total: config.streams.maxWatchers,
    perAddress: config.streams.maxWatchersPerAddress,
  });
  const feed = new BuildFeed(bus, (build) =>
    presentBuildSummary(
      build,
      config.publicUrl,
      build.state === 'queued' ? waitReason(scheduler, build) : undefined,
    ),
  );
  const events = new Broadcast();
  // The frame is made only when a stream is open to take it.
  feed.on((frame) => {
    if (events.size > 0) events.send(frame.frame);
  });
  // The database going away or coming back changes no build, but the page must say so.
  const unsubscribeHealth = deps.databaseHealth?.onChange((problem) =>
    events.send(
      Buffer.from(
        formatSse({
          event: 'health',
          data: JSON.stringify({ database: problem ? `unreachable: ${problem}` : 'ok' }),
        }),
      ),
    ),
  );
  // An engine marked down or up again: the monitor redraws its Engines section.
  const unsubscribeEngines = scheduler.engines.onChange((engine, up) =>
    events.send(
      Buffer.from(
        formatSse({
          event: 'health',
          data: JSON.stringify({ engine: engine.name, up, reason: engine.reason }),
        }),
      ),
    ),
  );
  const tails = new TailHub(bus);

  /** A 503 past the caps, before anything else is done for the request. */
  const admit = (request: FastifyRequest) => {
    const refusal = watchers.refusal(request.ip);
    if (!refusal) return;
    metrics.streamsRefused.inc();
    throw new AppError('TOO_MANY_WATCHERS', refusal);
  };
  /** Admits a stream under the caps and takes the socket over. */
  const openStream = (request: FastifyRequest, reply: FastifyReply) => {
    admit(request);
    reply.hijack();
    const stream = new SseStream(reply.raw, { maxBufferedBytes: config.streams.maxUnreadBytes });
    watchers.add(stream, request.ip);
    metrics.streamWatchers.set(watchers.size);
    stream.onClose(() => {
      metrics.streamWatchers.set(watchers.size);
      if (stream.dropped) metrics.streamsDropped.inc();
    });
    request.raw.socket.setNoDelay(true);
    return stream;
  };
  // Streams never end by themselves; without this, closing the server would wait for every browser.
  app.addHook('preClose', (done) => {
    watchers.endAll();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    feed.close();
    tails.close();
    unsubscribeHealth?.();
    unsubscribeEngines();
    done();
  });

  app.get<{ Querystring: EventsQuery }>('/api/events', async (request, reply) => {
    const { tails: withTails } = request.query;
    if (withTails !== undefined && withTails !== '0' && withTails !== '1') {
      throw new AppError('BAD_REQUEST', 'tails must be 0 or 1');
    }
    const stream = openStream(request, reply);
    events.add(stream);
    if (withTails === '1') tails.add(stream);
  });

  app.get<{ Params: { id: string }; Querystring: StreamQuery }>(
    '/api/builds/:id/log/stream',
    async (request, reply) => {
      admit(request);
      const id = parseBuildId(request.params.id);
      const build = await store.getBuild(id);
      if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
      const from = startOffset(request, build);
      const stream = openStream(request, reply);
      await streamBuildLog(
        { bus, feed, getBuild: (buildId) => store.getBuild(buildId), logger: request.log },
        stream,
        build,
        from,
      );
    },
  );
}
