/**
 * The log's sections: the pipeline writes a marker line before each phase (`==> build #…`,
 * `==> step N/M: cmd`, then `==> artifact …` / `==> success` / `==> failed: …`). Each marker opens
 * a `<details>` whose summary is the marker line itself (numbered like any line), so a step folds
 * and its summary shows the step's exit code and duration from the build's step records.
 */
import { stripAnsi } from './ansi.js';
import type { StepRecord } from '../src/domain/build.js';
import { formatElapsed } from '../src/domain/duration.js';

interface Section {
  root: HTMLElement;
  body: HTMLElement;
  /** Complete lines in the section, its marker line included. */
  lines: number;
  step: number | null;
  kind: 'setup' | 'step' | 'result' | 'lines';
}

const STEP = /^==> step (\d+)\/\d+: /;
const SETUP = /^==> build #\d+/;
const RESULT = /^==> (artifact|published|committed|success|failed|cancelled|superseded|interrupted)\b/;

export class Sections {
  private readonly list: Section[] = [];
  private steps = new Map<number, StepRecord>();
  lineCount = 0;

  constructor(private readonly log: HTMLElement) {}

  /** Adds a line; a marker line opens a new section. A partial line is shown but not counted. */
  add(line: HTMLElement, text: string, partial = false): void {
    const last = this.list.at(-1);
    if (!partial) {
      const plain = stripAnsi(text);
      const step = STEP.exec(plain);
      const kind = step
        ? 'step'
        : SETUP.test(plain)
          ? 'setup'
          : RESULT.test(plain) && (!last || last.kind === 'step')
            ? 'result'
            : null;
      if (kind) {
        this.open(kind, line, step ? Number(step[1]) : null);
        return;
      }
    }
    const section = last ?? this.open('lines', null, null);
    section.body.append(line);
    if (partial) return;
    section.lines++;
    this.lineCount++;
  }

  private open(kind: Section['kind'], marker: HTMLElement | null, step: number | null): Section {
    const root = document.createElement(marker ? 'details' : 'div');
    root.className = `section section-${kind}`;
    const body = document.createElement('div');
    body.className = 'section-body';
    if (marker) {
      (root as HTMLDetailsElement).open = true;
      const summary = document.createElement('summary');
      const meta = document.createElement('span');
      meta.className = 'section-meta';
      summary.append(marker, meta);
      root.append(summary);
    }
    root.append(body);
    const section: Section = { root, body, lines: marker ? 1 : 0, step, kind };
    this.lineCount += section.lines;
    if (step !== null) {
      root.dataset.step = String(step);
      const record = this.steps.get(step);
      if (record) this.showStep(section, record);
    }
    this.log.append(root);
    this.list.push(section);
    return section;
  }

  /** Removes `count` complete lines from the top: whole sections first, then a section's first lines. */
  dropOldest(count: number): void {
    while (count > 0 && this.list.length > 0) {
      const first = this.list[0]!;
      if (first.lines <= count && this.list.length > 1) {
        first.root.remove();
        this.list.shift();
        count -= first.lines;
        this.lineCount -= first.lines;
        continue;
      }
      // The marker line (the summary) stays while any of its section does: it names the section.
      for (let line = first.body.firstElementChild; line && count > 0;) {
        const next = line.nextElementSibling;
        line.remove();
        first.lines--;
        this.lineCount--;
        count--;
        line = next;
      }
      return;
    }
  }

  /** Shows each step's exit code and duration (or "running") in its section's summary. */
  setSteps(steps: StepRecord[]): void {
    this.steps = new Map(steps.map((step) => [step.index, step]));
    for (const section of this.list) {
      const record = section.step === null ? undefined : this.steps.get(section.step);
      if (record) this.showStep(section, record);
    }
  }

  private showStep(section: Section, step: StepRecord): void {
    const meta = section.root.querySelector<HTMLElement>(':scope > summary > .section-meta');
    if (!meta) return;
    // Drawn from data-text by CSS: the log's text (and a copy of it) stays exactly the log.
    if (step.exitCode === undefined || !step.finishedAt) {
      meta.className = 'section-meta running';
      meta.dataset.text = 'running';
      return;
    }
    meta.className = `section-meta ${step.exitCode === 0 ? 'ok' : 'bad'}`;
    const took = formatElapsed(Date.parse(step.finishedAt) - Date.parse(step.startedAt));
    meta.dataset.text = `exit ${step.exitCode} · ${took}`;
  }

  /** The last non-empty lines of a step's section (its error, usually), as plain text. */
  lastLines(step: number, count: number): string[] {
    const section = this.list.find((s) => s.step === step);
    if (!section) return [];
    const texts = [...section.body.querySelectorAll('.line .lt')].map((line) =>
      (line.textContent ?? '').replace(/\n$/, ''),
    );
    return texts.filter((text) => text.trim() !== '').slice(-count);
  }
}
