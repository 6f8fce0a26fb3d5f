/**
 * Terminal output as the page shows it. Colours and bold/italic/underline (SGR codes) become styled
 * spans through `anser`; other escapes (cursor moves, window titles) are dropped. Text is only ever
 * set with text nodes / textContent: a log line is never parsed as HTML.
 */
import Anser from 'anser';

// CSI sequences other than SGR (`…m`), OSC sequences (ESC ] … BEL or ESC \), and two-byte escapes.
const NOT_COLOUR =
  // eslint-disable-next-line no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-ln-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** A line as a terminal leaves it: what follows the last carriage return (progress bars). */
export function terminalLine(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cut = text.lastIndexOf('\r');
  return cut === -1 ? text : text.slice(cut + 1);
}

export function stripAnsi(text: string): string {
  return Anser.ansiToText(text.replace(NOT_COLOUR, '')).replace(/\r\n/g, '\n');
}

const DECORATIONS: Record<string, [keyof CSSStyleDeclaration, string]> = {
  bold: ['fontWeight', 'bold'],
  dim: ['opacity', '0.7'],
  italic: ['fontStyle', 'italic'],
  underline: ['textDecoration', 'underline'],
  strikethrough: ['textDecoration', 'line-through'],
};

/** The nodes of one line: plain text nodes, and a styled `<span>` per coloured run. */
export function ansiNodes(line: string): Node[] {
  const parts = Anser.ansiToJson(line.replace(NOT_COLOUR, ''), { remove_empty: true });
  return parts.map((part) => {
    const decorations = part.decorations.filter((d) => d in DECORATIONS);
    if (!part.fg && !part.bg && decorations.length === 0) return document.createTextNode(part.content);
    const span = document.createElement('span');
    span.textContent = part.content;
    if (part.fg) span.style.color = `rgb(${part.fg})`;
    if (part.bg) span.style.backgroundColor = `rgb(${part.bg})`;
    for (const decoration of decorations) {
      const [property, value] = DECORATIONS[decoration]!;
      (span.style as unknown as Record<string, string>)[property as string] = value;
    }
    return span;
  });
}
