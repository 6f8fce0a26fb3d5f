/**
 * `paused` as a row every replica reads (issue 14): set here, it is written at once (callers that
 * do not wait still see it set); set elsewhere, it is seen at the next poll. It survives restarts.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

export class SharedPause {
  private value = false;
  private writes = 0;

  constructor(
    private readonly store: Pick<Store, 'getSetting' | 'setSetting'>,
    private readonly logger: Logger,
    private readonly onResume: () => void,
  ) {}

  get paused(): boolean {
    return this.value;
  }

  async load(): Promise<void> {
    this.value = (await this.store.getSetting('paused')) === 'true';
  }

  /** Resolves once stored; a failure is logged, and rejects for a caller that waits. */
  set(paused: boolean): Promise<void> {
    this.value = paused;
    if (!paused) this.onResume();
    this.writes += 1;
    const write = this.store.setSetting('paused', String(paused)).finally(() => (this.writes -= 1));
    write.catch((error: unknown) =>
      this.logger.error({ err: error }, `the queue's ${paused ? 'pause' : 'resume'} was not stored`),
    );
    return write;
  }

  /** Reads the row again (a poll); a write of ours still under way wins over what is read. */
  async refresh(): Promise<void> {
    if (this.writes > 0) return;
    const read = (await this.store.getSetting('paused')) === 'true';
    if (this.writes > 0 || read === this.value) return;
    this.value = read;
    if (!read) this.onResume();
  }
}
