/** The last few lines of a stream of text chunks, for the small tails on the monitor page. */
export class LastLines {
  private lines: string[] = [];
  private partial = '';

  /** `maxLength` bounds each line: a build printing one endless line must not grow the tail. */
  constructor(
    private readonly max: number,
    private readonly maxLength = 500,
  ) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = this.cut(parts.pop() ?? '');
    const keep = parts.slice(-this.max).map((line) => this.cut(line));
    this.lines = this.lines.concat(keep).slice(-this.max);
  }

  get text(): string {
    return this.partial === '' ? this.lines.join('\n') : [...this.lines, this.partial].join('\n');
  }

  private cut(line: string): string {
    return line.length > this.maxLength ? line.slice(0, this.maxLength) : line;
  }
}
