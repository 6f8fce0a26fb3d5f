/**
 * Whether the database answers, as last seen by a query or a probe: null when it does, else why
 * not. Listeners hear each change (the monitor shows a banner, /healthz reads `problem`).
 */
export type HealthListener = (problem: string | null) => void;

export class DatabaseHealth {
  private current: string | null = null;
  private readonly listeners = new Set<HealthListener>();

  get problem(): string | null {
    return this.current;
  }

  markDown(reason: string): void {
    this.set(reason);
  }

  markUp(): void {
    this.set(null);
  }

  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(problem: string | null): void {
    // Only the ok/down edge is news; a second failure with other words is the same outage.
    if ((problem === null) === (this.current === null)) {
      this.current = problem;
      return;
    }
    this.current = problem;
    for (const listener of this.listeners) {
      try {
        listener(problem);
      } catch {
        // A listener's failure (a closed stream) must not decide whether the store works.
      }
    }
  }
}
