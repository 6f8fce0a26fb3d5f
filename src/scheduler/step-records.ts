/**
 * A running build's step records, written in the order the pipeline reports them. Each write
 * waits for the one before; the final transition waits for all (`settled`) and carries the
 * latest list itself, so a late write can never show a finished build as running again.
 */
import type { Logger } from 'pino';
import type { StepRecord } from '../domain/build.js';
import type { EventBus } from '../live/event-bus.js';
import type { Fence, Store } from '../store/store.js';
import { moveBuild } from './move-build.js';

export class StepRecords {
  private writes: Promise<void> = Promise.resolve();
  private current: StepRecord[] | undefined;

  constructor(
    private readonly buildId: number,
    private readonly deps: { store: Store; bus: EventBus; logger: Logger },
    /** The lease the build runs under: a replica that lost it writes no more steps. */
    private readonly fence?: Fence,
  ) {}

  /** The latest list, for the final transition (undefined when the pipeline reported none). */
  get latest(): StepRecord[] | undefined {
    return this.current;
  }

  record(steps: StepRecord[]): void {
    // A copy: the pipeline fills in exit codes on the same objects later.
    const snapshot = steps.map((step) => ({ ...step }));
    this.current = snapshot;
    this.writes = this.writes.then(() => this.write(snapshot));
  }

  /** Resolves when every write so far is done (never rejects). */
  settled(): Promise<void> {
    return this.writes;
  }

  /**
   * Only while the build is still `running`, so a write can never move a finished build back.
   * One that fails is not retried: the final state carries the steps.
   */
  private async write(steps: StepRecord[]): Promise<void> {
    try {
      await moveBuild(this.deps, this.buildId, ['running'], 'running', { steps }, { fence: this.fence });
    } catch (error) {
      this.deps.logger.warn(
        { err: error, build: this.buildId },
        'step record not stored; the final state carries it',
      );
    }
  }
}
