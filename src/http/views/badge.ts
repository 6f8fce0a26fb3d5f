/** A README status badge (flat, shields.io-like): "build | success". Text is escaped. */
import type { BuildState } from '../../domain/build.js';
import { html } from './html.js';

const COLOURS: Record<BuildState | 'unknown', string> = {
  queued: '#9a6700',
  running: '#0969da',
  success: '#1a7f37',
  failed: '#cf222e',
  interrupted: '#cf222e',
  cancelled: '#6b7280',
  superseded: '#6b7280',
  unknown: '#6b7280',
};

/** Width of a text in 11px Verdana, roughly: enough to never clip the words used here. */
const textWidth = (text: string) => Math.ceil(text.length * 7) + 10;

export function renderBadge(state: BuildState | null, label = 'build'): string {
  const word = state ?? 'unknown';
  const left = textWidth(label);
  const right = textWidth(word);
  const width = left + right;
  return html`<svg
    xmlns="http://www.w3.org/2000/svg"
    width="${width}"
    height="20"
    role="img"
    aria-label="${label}: ${word}"
  >
    <title>${label}: ${word}</title>
    <rect width="${left}" height="20" fill="#555" />
    <rect x="${left}" width="${right}" height="20" fill="${COLOURS[word]}" />
    <g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
      <text x="${left / 2}" y="14">${label}</text>
      <text x="${left + right / 2}" y="14" data-state="${word}">${word}</text>
    </g>
  </svg>`.value;
}
