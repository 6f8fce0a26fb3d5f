/**
 * The engines builds run on, and their health: each is pinged every `intervalMs`; one that has
 * not answered for `downAfterMs` is marked down (no new builds; the scheduler interrupts and
 * re-queues its running ones). A build whose engine call failed asks `confirm`, which marks the
 * engine down at once when it does not answer a ping either (a dead engine refuses at once).
 */
import { withTimeout } from './docker/engine-timeout.js';
import type { Engine, EngineStatus } from './engine.js';

export interface HealthOptions {
  intervalMs: number;
  downAfterMs: number;
  pingTimeoutMs: number;
}

export const ENGINE_HEALTH: HealthOptions = { intervalMs: 2000, downAfterMs: 30_000, pingTimeoutMs: 3000 };

type Listener = (engine: Engine, up: boolean) => void;

export class EnginePool {
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly listeners: Listener[] = [];

  constructor(
    readonly engines: readonly Engine[],
    private readonly health: HealthOptions = ENGINE_HEALTH,
  ) {}

  get(name: string | null): Engine | undefined {
    return this.engines.find((e) => e.name === name);
  }

  up(): Engine[] {
    return this.engines.filter((e) => e.up);
  }

  statuses(): EngineStatus[] {
    return this.engines.map((e) => e.status());
  }

  /** Calls `listener` on each up/down change; returns a function that stops it. */
  onChange(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Starts pinging every engine (a single engine is not watched: the scheduler pings it). */
  start(): void {
    if (this.timer || this.engines.length < 2) return;
    // check() never rejects: each engine's ping failure is handled in checkOne.
    this.timer = setInterval(() => void this.check().catch(() => undefined), this.health.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round of pings; a round still waiting on a hung engine is not doubled. */
  check(): Promise<void> {
    this.checking ??= Promise.all(this.engines.map((engine) => this.checkOne(engine))).then(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async checkOne(engine: Engine): Promise<void> {
    try {
      await this.ping(engine);
      if (engine.markUp()) this.emit(engine, true);
    } catch (error) {
      const silentMs = Date.now() - engine.lastAnswer;
      if (silentMs >= this.health.downAfterMs)
        this.markDown(engine, `no answer for ${Math.round(silentMs / 1000)}s: ${(error as Error).message}`);
    }
  }

  /** True when the engine answers a ping now; otherwise it is marked down. */
  async confirm(engine: Engine): Promise<boolean> {
    if (!engine.up) return false;
    try {
      await this.ping(engine);
      engine.lastAnswer = Date.now();
      return true;
    } catch (error) {
      this.markDown(engine, (error as Error).message);
      return false;
    }
  }

  markDown(engine: Engine, reason: string): void {
    if (engine.markDown(reason)) this.emit(engine, false);
  }

  private ping(engine: Engine): Promise<void> {
    // The ping's own request is ended at this deadline too (engine.raw.ping takes the signal).
    return withTimeout(`ping of ${engine.name}`, this.health.pingTimeoutMs, (signal) =>
      engine.raw.ping(signal),
    );
  }

  private emit(engine: Engine, up: boolean): void {
    for (const listener of this.listeners) listener(engine, up);
  }
}
