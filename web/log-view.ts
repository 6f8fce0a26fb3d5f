/**
 * A growing log as numbered lines (`#L120` links to line 120), grouped into one foldable section
 * per step (sections.ts). Colours become styled spans (ansi.ts); text is never parsed as HTML. The
 * oldest lines go once there are too many for the page to stay fast, and the view follows the end
 * until the reader scrolls up (or opens a line link); scrolling back to the bottom follows again.
 */
import { ansiNodes, terminalLine } from './ansi.js';
import { Sections } from './sections.js';

/** Within this many pixels of the bottom counts as "at the bottom". */
const SLACK = 8;

export interface LogViewParts {
  log: HTMLElement;
  /** Shown once old lines were dropped; links to the raw log. */
  note: HTMLElement | null;
  /** Shown while not following; a click jumps to the end. */
  follow: HTMLButtonElement | null;
  /** Says so when a `#L…` line is no longer on the page. */
  missing?: HTMLElement | null;
}

export class LogView {
  readonly sections: Sections;
  /** The number the next complete line gets (lines are numbered from 1 in the whole log). */
  private nextNumber = 1;
  /** The end of the log without its newline yet, shown as a provisional line. */
  private partial = '';
  private partialLine: HTMLElement | null = null;
  private following = true;
  private scrollPending = false;
  /** Where the view last scrolled itself; above it means the reader scrolled up. */
  private autoTop = 0;
  /** A line asked for by `#L…` that may not have arrived yet. */
  private target: number | null = null;

  constructor(
    private readonly parts: LogViewParts,
    private readonly maxLines = 5000,
  ) {
    this.sections = new Sections(parts.log);
    parts.log.addEventListener('scroll', () => {
      const { scrollTop, clientHeight, scrollHeight } = parts.log;
      // Not "is it at the bottom": lines may have arrived since the view scrolled itself.
      if (scrollTop + clientHeight >= scrollHeight - SLACK) this.following = true;
      else if (scrollTop < this.autoTop - SLACK) this.following = false;
      if (parts.follow) parts.follow.hidden = this.following;
    });
    parts.follow?.addEventListener('click', () => {
      this.following = true;
      parts.follow!.hidden = true;
      this.scrollToEnd();
    });
  }

  get lineCount(): number {
    return this.sections.lineCount;
  }

  /** The first line number still on the page. */
  get firstNumber(): number {
    return this.nextNumber - this.sections.lineCount;
  }

  /** The number of the last complete line so far (0 before the first). */
  get lastComplete(): number {
    return this.nextNumber - 1;
  }

  append(text: string): void {
    if (text === '') return;
    this.partialLine?.remove();
    this.partialLine = null;
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    // A first chunk of a long log: number the lines that will not be shown, without drawing them.
    const skip = Math.max(0, lines.length - this.maxLines);
    if (skip > 0) this.markCapped();
    this.nextNumber += skip;
    for (const line of lines.slice(skip)) this.sections.add(this.line(this.nextNumber++, line, true), line);
    if (this.partial !== '') {
      this.partialLine = this.line(this.nextNumber, this.partial, false);
      this.sections.add(this.partialLine, this.partial, true);
    }
    this.dropOldest();
    this.reachTarget();
    if (this.following) this.scrollToEnd();
  }

  /** Goes to line `number` (from `#L…`): now if it is on the page, else once it arrives. */
  goTo(number: number): void {
    this.target = number;
    this.following = false;
    if (this.parts.follow) this.parts.follow.hidden = false;
    this.reachTarget();
  }

  private reachTarget(): void {
    if (this.target === null) return;
    const line = document.getElementById(`L${this.target}`);
    if (!line) {
      // Dropped from the page (only the last lines are kept): say so rather than do nothing.
      const missing = this.parts.missing;
      if (missing && this.target < this.firstNumber) {
        missing.textContent = `Line ${this.target} is no longer on the page (it keeps the last ${this.maxLines} lines): search finds it, and the full log has it.`;
        missing.hidden = false;
      }
      return;
    }
    this.target = null;
    if (this.parts.missing) this.parts.missing.hidden = true;
    for (const marked of this.parts.log.querySelectorAll('.line.selected'))
      marked.classList.remove('selected');
    line.classList.add('selected');
    line.closest('details')?.setAttribute('open', '');
    line.scrollIntoView({ block: 'center' });
    this.autoTop = this.parts.log.scrollTop;
  }

  /**
   * A complete line's text ends with its newline, so the log element's text (and a copy of it) is
   * the log itself; the number and section metadata are drawn by CSS, outside the text.
   */
  private line(number: number, text: string, complete: boolean): HTMLElement {
    const line = document.createElement('div');
    line.className = 'line';
    line.id = `L${number}`;
    const anchor = document.createElement('a');
    anchor.className = 'ln';
    anchor.href = `#L${number}`;
    // The number is drawn by CSS (attr(data-n)): copying the log does not copy line numbers.
    anchor.dataset.n = String(number);
    const content = document.createElement('span');
    content.className = 'lt';
    content.append(...ansiNodes(terminalLine(text)), ...(complete ? ['\n'] : []));
    line.append(anchor, content);
    return line;
  }

  /** Trims back to `maxLines` once the page holds a tenth more, so trimming is not per line. */
  private dropOldest(): void {
    if (this.sections.lineCount <= this.maxLines + Math.ceil(this.maxLines / 10)) return;
    const log = this.parts.log;
    const before = log.scrollHeight;
    this.sections.dropOldest(this.sections.lineCount - this.maxLines);
    this.markCapped();
    // Keep what a reader who scrolled up is looking at in place while lines above it go.
    if (!this.following) log.scrollTop -= before - log.scrollHeight;
    else this.autoTop = log.scrollTop;
  }

  private markCapped(): void {
    if (this.parts.note) this.parts.note.hidden = false;
  }

  /** At most once a frame: scrolling forces a layout, and chunks can come hundreds a second. */
  private scrollToEnd(): void {
    if (this.scrollPending) return;
    this.scrollPending = true;
    requestAnimationFrame(() => {
      this.scrollPending = false;
      if (!this.following) return;
      this.parts.log.scrollTop = this.parts.log.scrollHeight;
      this.autoTop = this.parts.log.scrollTop;
    });
  }
}
