/** The last few lines of a stream of text chunks, for the small tails on the monitor page. */
export class LastLines {
  private lines: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    const keep = parts.slice(-this.max);
    this.lines = this.lines.concat(keep).slice(-this.max);
  }

  get text(): string {
    return this.partial === '' ? this.lines.join('\n') : [...this.lines, this.partial].join('\n');
  }
}
