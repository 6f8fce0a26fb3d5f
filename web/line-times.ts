/**
 * "Times" on the build page: each line's arrival time (GET /api/builds/:id/log/times), relative to
 * the build's start, with the absolute local time on hover. Only while the toggle is on: the log's
 * lines, then each line that arrives live (asked for once the lines are on the page, which the
 * server writes after their times). The time is drawn by CSS from `data-t`, so copying the log
 * still copies only the log.
 */
import type { LogView } from './log-view.js';

interface TimesAnswer {
  recorded: boolean;
  startedAt: number | null;
  times: [number, number][];
}

/** A build may run for hours: `+4.250s`, `+3m07.5s`, `+1h02m03s`. */
export function formatOffset(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 60_000) return `+${(t / 1000).toFixed(3)}s`;
  const seconds = t / 1000;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `+${m}m${(seconds % 60).toFixed(1).padStart(4, '0')}s`;
  return `+${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
}

function absolute(ms: number): string {
  const date = new Date(ms);
  return `${date.toLocaleString()}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

export class LineTimes {
  private on = false;
  /** The last line that has its time; the next request starts after it. */
  private timed = 0;
  private busy = false;
  private again = false;

  constructor(
    private readonly buildId: number,
    private readonly view: LogView,
    private readonly log: HTMLElement,
    private readonly toggle: HTMLButtonElement,
    private readonly note: HTMLElement | null,
  ) {
    toggle.addEventListener('click', () => this.set(!this.on));
  }

  private set(on: boolean): void {
    this.on = on;
    this.toggle.setAttribute('aria-pressed', String(on));
    this.log.classList.toggle('with-times', on);
    if (on) this.update();
  }

  /** Lines arrived (or the toggle came on): ask for the times of those that have none yet. */
  update(): void {
    if (!this.on) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    const from = Math.max(this.timed + 1, this.view.firstNumber);
    const to = this.view.lastComplete;
    if (to < from) return;
    this.busy = true;
    void this.fetchRange(from, to)
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.update();
        }
      });
  }

  private async fetchRange(from: number, to: number): Promise<void> {
    const response = await fetch(`/api/builds/${this.buildId}/log/times?from=${from}&to=${to}`);
    if (!response.ok) return;
    const answer = (await response.json()) as TimesAnswer;
    if (!answer.recorded) {
      if (this.note) this.note.hidden = false;
      return;
    }
    const start = answer.startedAt ?? answer.times[0]?.[1] ?? 0;
    let next = 0;
    for (let n = from; n <= to; n++) {
      while (next < answer.times.length && answer.times[next]![0] <= n) next++;
      const ms = answer.times[next - 1]?.[1];
      const line = document.getElementById(`L${n}`);
      if (ms === undefined || !line) continue;
      // An empty element drawn from data-t: the log's text (and a copy of it) stays the log.
      let cell = line.querySelector<HTMLElement>('.tm');
      if (!cell) {
        cell = document.createElement('span');
        cell.className = 'tm';
        line.prepend(cell);
      }
      cell.dataset.t = formatOffset(ms - start);
      cell.dataset.ms = String(ms);
      cell.title = absolute(ms);
    }
    this.timed = Math.max(this.timed, to);
  }
}
