/**
 * A growing log in a `<pre>`: text is appended as text nodes (never parsed as HTML), the oldest
 * lines go once there are too many for the page to stay fast, and the view follows the end
 * until the reader scrolls up; scrolling back to the bottom follows again.
 */
const countLines = (text: string) => {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
};

/** The last `max` lines of `text` (a trailing partial line counts as part of the last one). */
function lastLines(text: string, max: number): string {
  let cut = text.length;
  for (let seen = 0; seen < max && cut > 0; seen++) cut = text.lastIndexOf('\n', cut - 2) + 1;
  return text.slice(cut);
}

/** Within this many pixels of the bottom counts as "at the bottom". */
const SLACK = 8;

export interface LogViewParts {
  log: HTMLElement;
  /** Shown once old lines were dropped; links to the raw log. */
  note: HTMLElement | null;
  /** Shown while not following; a click jumps to the end. */
  follow: HTMLButtonElement | null;
}

export class LogView {
  private readonly chunks: { node: Text; lines: number }[] = [];
  private lines = 0;
  private following = true;
  private scrollPending = false;
  /** Where the view last scrolled itself; above it means the reader scrolled up. */
  private autoTop = 0;

  constructor(
    private readonly parts: LogViewParts,
    private readonly maxLines = 5000,
  ) {
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
    return this.lines;
  }

  append(text: string): void {
    if (text === '') return;
    let lines = countLines(text);
    if (lines > this.maxLines) {
      text = lastLines(text, this.maxLines);
      lines = countLines(text);
      this.markCapped();
    }
    const node = document.createTextNode(text);
    this.parts.log.appendChild(node);
    this.chunks.push({ node, lines });
    this.lines += lines;
    this.dropOldest();
    if (this.following) this.scrollToEnd();
  }

  /**
   * Trims back to `maxLines` once the page holds a tenth more, so the (possibly large) oldest
   * chunk is not re-cut on every append.
   */
  private dropOldest(): void {
    if (this.lines <= this.maxLines + Math.ceil(this.maxLines / 10)) return;
    const log = this.parts.log;
    const before = log.scrollHeight;
    while (this.lines > this.maxLines) {
      const oldest = this.chunks[0]!;
      const excess = this.lines - this.maxLines;
      if (oldest.lines <= excess && this.chunks.length > 1) {
        this.chunks.shift();
        oldest.node.remove();
        this.lines -= oldest.lines;
      } else {
        oldest.node.data = lastLines(oldest.node.data, oldest.lines - excess);
        this.lines -= oldest.lines - countLines(oldest.node.data);
        oldest.lines = countLines(oldest.node.data);
        break;
      }
    }
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
