/**
 * The container made with the server's rule while the repository file is read (build-container.ts),
 * and step 1 started on it at once (what `docker run` pays does not wait for the file either): its
 * command waits on stdin, and nothing of step 1 runs before `begin` gives it its source, once the
 * container is the build's and step 1 has begun. Dropped (the file changed the rule) or never
 * begun (the run ended before step 1): the source is refused, the step killed, the container
 * removed by whoever holds it.
 */
import type { Build } from '../domain/build.js';
import type { BuildRule } from '../domain/rule.js';
import type { BuildLog } from '../live/build-log.js';
import { HeldLines, makeContainer, type BuildContainer } from './build-container.js';
import { runFirstStep, type FirstStepOptions } from './first-step.js';
import type { Executor } from '../executor/executor.js';

type SourceFeed = Pick<FirstStepOptions, 'source' | 'recreate'>;

export class EarlyContainer {
  readonly made: Promise<BuildContainer>;
  private readonly lines: HeldLines;
  /** Step 1 started on the container, waiting on its stdin until `begin`; null: none started. */
  private readonly step: Promise<{ exit: Promise<number> } | null>;
  /** Opened with step 1's source by `begin`; refused by `drop` and `end` (refusing after changes nothing). */
  private open!: (feed: SourceFeed) => void;
  private refuse!: (reason: unknown) => void;

  constructor(
    private readonly deps: Parameters<typeof makeContainer>[0] & { executor: Executor },
    build: Build,
    rule: BuildRule,
    log: BuildLog,
    signal: AbortSignal,
  ) {
    const go = new Promise<SourceFeed>((yes, no) => ((this.open = yes), (this.refuse = no)));
    go.catch(() => undefined);
    this.lines = new HeldLines((l) => log.line(l));
    this.made = makeContainer(deps, build, rule, this.lines.line, signal);
    this.step = this.made.then((made) =>
      made.firstStep && made.handle.sourceOnStdin
        ? {
            exit: runFirstStep(deps.executor, made.handle, {
              onOutput: (chunk, stream) => log.output(chunk, stream),
              signal,
              source: async () => (await go).source(),
              recreate: async (message) => (await go).recreate(message),
            }),
          }
        : null,
    );
    void this.step.then((run) => run?.exit.catch(() => undefined)).catch(() => undefined);
  }

  /** The container is the build's: its held log lines go out. */
  take(): Promise<BuildContainer> {
    this.lines.take();
    return this.made;
  }

  /** Not the build's (the repository file changed the rule): step 1 never runs, the container goes. */
  drop(reason: Error): void {
    this.refuse(reason);
    void this.made.then((made) => this.deps.executor.destroy(made.handle)).catch(() => undefined);
  }

  /** Step 1 begins with `feed`: the step started early (its exit awaited by the caller), or null. */
  async begin(feed: SourceFeed): Promise<{ exit: Promise<number> } | null> {
    const started = await this.step;
    this.open(feed);
    return started;
  }

  /** The run ends: a step 1 still waiting for its source never gets it. */
  end(reason: Error): void {
    this.refuse(reason);
  }
}
