/**
 * One build's log as Server-Sent Events (`/api/builds/:id/log/stream`): the log's bytes from an
 * offset on (each event's id is the byte offset after it, so EventSource resumes exactly), this
 * build's changes on the same stream (the build page needs no second connection), and a last
 * `end` event once the build has ended and its log was read to the end. The route admits the
 * client and says where to start; everything after that happens here.
 */
import { isFinal, type Build } from '../domain/build.js';
import type { BuildFeed } from './build-feed.js';
import type { EventBus } from './event-bus.js';
import { LogTail } from './log-tail.js';
import type { SseStream } from './sse.js';

export interface LogStreamDeps {
  bus: EventBus;
  feed: BuildFeed;
  /** The build's record as stored now. */
  getBuild: (id: number) => Promise<Build | null>;
  logger: { error(details: object, message: string): void };
}

/** Resolves once the stream is set up; it goes on until the build ends or the client leaves. */
export async function streamBuildLog(
  deps: LogStreamDeps,
  stream: SseStream,
  build: Build,
  from: number,
): Promise<void> {
  const id = build.id;
  // Whichever source (store or bus) first knows where the log is; it never changes once set.
  let logPath = build.logPath;
  let state = build.state;
  const learn = (b: Build) => {
    logPath ??= b.logPath;
    if (!isFinal(state)) state = b.state;
  };
  const tail = new LogTail(
    {
      bus: deps.bus,
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
      deps.logger.error({ err: error, build: id }, 'log stream failed at the end');
      stream.drop();
    }
  };
  const unsubscribe = deps.feed.on((frame) => {
    if (frame.build.id !== id) return;
    learn(frame.build);
    stream.sendFrame(frame.frameWithoutId);
    end().catch((error: unknown) => deps.logger.error({ err: error, build: id }, 'log stream end failed'));
  });
  stream.onClose(() => {
    unsubscribe();
    tail.stop();
  });
  try {
    // Read the record again now that both subscriptions exist: a change between the first
    // read and them (the build starting, or ending) would otherwise never be seen.
    const fresh = await deps.getBuild(id);
    if (fresh) learn(fresh);
    await tail.start();
    started = true;
    await end();
  } catch (error) {
    deps.logger.error({ err: error, build: id }, 'log stream failed');
    stream.drop();
  }
}
