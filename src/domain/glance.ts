/**
 * How a state looks at a glance: an icon and a word (never colour alone), and the tab's title mark
 * and favicon. Pure: the server renders it and the browser script (web/glance.ts) redraws it.
 */
import type { BuildState } from './build.js';

export type Tone = 'ok' | 'bad' | 'run' | 'wait' | 'muted';

export interface StateLook {
  icon: string;
  word: string;
  tone: Tone;
}

const LOOKS: Record<BuildState, StateLook> = {
  queued: { icon: '◷', word: 'queued', tone: 'wait' },
  running: { icon: '●', word: 'running', tone: 'run' },
  success: { icon: '✓', word: 'success', tone: 'ok' },
  failed: { icon: '✗', word: 'failed', tone: 'bad' },
  cancelled: { icon: '⊘', word: 'cancelled', tone: 'muted' },
  superseded: { icon: '↷', word: 'superseded', tone: 'muted' },
  interrupted: { icon: '⚠', word: 'interrupted', tone: 'bad' },
};

export function stateLook(state: BuildState): StateLook {
  return LOOKS[state];
}

/** What a tab shows: something runs, the latest build failed, it passed, or nothing to say. */
export type Glance = 'running' | 'failed' | 'passed' | 'idle';

const MARKS: Record<Glance, string> = { running: '●', failed: '✗', passed: '✓', idle: '' };
const COLOURS: Record<Glance, string> = {
  running: '#0969da',
  failed: '#cf222e',
  passed: '#1a7f37',
  idle: '#6b7280',
};

export function buildGlance(state: BuildState): Glance {
  if (state === 'running' || state === 'queued') return 'running';
  if (state === 'failed' || state === 'interrupted') return 'failed';
  return state === 'success' ? 'passed' : 'idle';
}

/** The monitor: running when anything runs, else what the newest finished build says. */
export function listGlance(running: number, newestFinished: BuildState | null): Glance {
  if (running > 0) return 'running';
  return newestFinished ? buildGlance(newestFinished) : 'idle';
}

export function glanceTitle(glance: Glance, title: string): string {
  return MARKS[glance] ? `${MARKS[glance]} ${title}` : title;
}

/** A 16×16 SVG favicon: a filled disc with a shape inside, so the state reads without colour too. */
export function faviconHref(glance: Glance): string {
  const shapes: Record<Glance, string> = {
    running: '<circle cx="8" cy="8" r="3" fill="#fff"/>',
    failed: '<path d="M5 5l6 6M11 5l-6 6" stroke="#fff" stroke-width="2"/>',
    passed: '<path d="M4.5 8.5l2.5 2.5 4.5-5" stroke="#fff" stroke-width="2" fill="none"/>',
    idle: '',
  };
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="8" fill="${COLOURS[glance]}"/>${shapes[glance]}</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** "5 min ago" (the absolute time goes in the element's title); pages keep it current. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}
