/** Terminal escape codes (colours, cursor moves, window titles) are dropped: the log is plain text. */
// CSI sequences (ESC [ … final byte), OSC sequences (ESC ] … BEL or ESC \), and two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ESCAPES, '').replace(/\r\n/g, '\n');
}
