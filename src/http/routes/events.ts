/**
 * Live streams for the monitor, as Server-Sent Events: build state changes (`/api/events`) and
 * one build's log bytes (`/api/builds/:id/log/stream`). docs/monitor.md describes both.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isFinal, type Build } from '../../domain/build.js';
import { AppError } from '../../errors.js';
import { LogTail, tailStart } from '../../live/log-tail.js';
import { SseStream } from '../../live/sse.js';
import type { AppDeps } from '../app-deps.js';
import { presentBuild } from '../present.js';
import { parseBuildId } from './builds.js';

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
  const { bus, store, scheduler, config } = deps;
  const open = new Set<SseStream>();
  const openStream = (raw: FastifyRequest['raw'], response: ServerResponse) => {
    const stream = new SseStream(response);
    open.add(stream);
    stream.onClose(() => open.delete(stream));
    raw.socket.setNoDelay(true);
    return stream;
  };
  // Streams never end by themselves; without this, closing the server would wait for every browser.
  app.addHook('preClose', (done) => {
    for (const stream of open) stream.end();
    done();
  });

  app.get('/api/events', async (request, reply) => {
    reply.hijack();
    const stream = openStream(request.raw, reply.raw);
    const unsubscribe = bus.onBuild(({ seq, build }) => {
      const waiting = build.state === 'queued' ? scheduler.waitReason(build.id) : undefined;
      stream.send({
        event: 'build',
        id: seq,
        data: JSON.stringify(presentBuild(build, config.publicUrl, waiting)),
      });
    });
    stream.onClose(unsubscribe);
    // The database going away or coming back changes no build, but the page must say so.
    const unsubscribeHealth = deps.databaseHealth?.onChange((problem) =>
      stream.send({
        event: 'health',
        data: JSON.stringify({ database: problem ? `unreachable: ${problem}` : 'ok' }),
      }),
    );
    if (unsubscribeHealth) stream.onClose(unsubscribeHealth);
  });

  app.get<{ Params: { id: string }; Querystring: StreamQuery }>(
    '/api/builds/:id/log/stream',
    async (request, reply) => {
      const id = parseBuildId(request.params.id);
      const build = await store.getBuild(id);
      if (!build) throw new AppError('NOT_FOUND', `no build #${request.params.id}`);
      const from = startOffset(request, build);
      reply.hijack();
      const stream = openStream(request.raw, reply.raw);
      // Whichever source (store or bus) first knows where the log is; it never changes once set.
      let logPath = build.logPath;
      let state = build.state;
      const learn = (b: Build) => {
        logPath ??= b.logPath;
        if (!isFinal(state)) state = b.state;
      };
      const tail = new LogTail(
        {
          bus,
          buildId: id,
          path: () => logPath,
          write: (chunk) => stream.send({ id: chunk.end, data: JSON.stringify({ text: chunk.text }) }),
          drained: () => stream.drained(),
        },
        from,
      );
      let started = false;
      let ending = false;
      const end = async () => {
        if (ending || !started || !isFinal(state)) return;
        ending = true;
        try {
          await tail.finish();
          stream.send({ event: 'end', data: JSON.stringify({ state, offset: tail.offset }) });
          stream.end();
        } catch (error) {
          request.log.error({ err: error, build: id }, 'log stream failed at the end');
          stream.drop();
        }
      };
      const unsubscribe = bus.onBuild((event) => {
        if (event.build.id !== id) return;
        learn(event.build);
        end().catch((error: unknown) =>
          request.log.error({ err: error, build: id }, 'log stream end failed'),
        );
      });
      stream.onClose(() => {
        unsubscribe();
        tail.stop();
      });
      try {
        // Read the record again now that both subscriptions exist: a change between the first
        // read and them (the build starting, or ending) would otherwise never be seen.
        const fresh = await store.getBuild(id);
        if (fresh) learn(fresh);
        await tail.start();
        started = true;
        await end();
      } catch (error) {
        request.log.error({ err: error, build: id }, 'log stream failed');
        stream.drop();
      }
    },
  );
}
