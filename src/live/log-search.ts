/**
 * Search in a build's whole log file (the page keeps only its last 5,000 lines): the numbers and
 * text (terminal codes removed) of the lines that contain the query, case-insensitively. Bounded:
 * at most `limit` matches, each line's text cut to 500 characters; the file is read as a stream.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import Anser from 'anser';

export interface LogMatch {
  line: number;
  text: string;
}

// Escapes other than colours (cursor moves, titles), then colours (anser).
// eslint-disable-next-line no-control-regex
const NOT_COLOUR = /\x1b\[[0-?]*[ -/]*[@-ln-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
const MAX_TEXT = 500;

function plain(line: string): string {
  const text = Anser.ansiToText(line.replace(NOT_COLOUR, '')).replace(/\r$/, '');
  const cut = text.lastIndexOf('\r');
  return cut === -1 ? text : text.slice(cut + 1);
}

export async function searchLog(
  path: string,
  query: string,
  limit: number,
): Promise<{ matches: LogMatch[]; truncated: boolean }> {
  const needle = query.toLowerCase();
  const matches: LogMatch[] = [];
  const decoder = new StringDecoder('utf8');
  let number = 0;
  let rest = '';
  const check = (line: string): boolean => {
    number++;
    const text = plain(line);
    if (text.toLowerCase().includes(needle)) matches.push({ line: number, text: text.slice(0, MAX_TEXT) });
    return matches.length > limit;
  };
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream) {
      const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (check(line)) return { matches: matches.slice(0, limit), truncated: true };
    }
  } finally {
    stream.destroy();
  }
  rest += decoder.end();
  if (rest !== '') check(rest);
  return { matches: matches.slice(0, limit), truncated: matches.length > limit };
}
