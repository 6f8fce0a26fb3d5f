/**
 * The monitor page (/monitor): the lists are re-rendered by the server (GET /monitor/fragment,
 * escaped there) when a build changes; each running build shows the last lines of its log. All of
 * it comes over ONE stream, `/api/events?tails=1` (build changes and `event: tail` with each
 * running build's last lines), however many builds run: a browser holds 6 connections per host.
 */
import type { Glance } from '../src/domain/glance.js';
import { updateAgo } from './ago.js';
import { stripAnsi } from './ansi.js';
import { showGlance } from './glance.js';
import { updateElapsed } from './duration.js';
import { openLive } from './live-source.js';
import { setUpRunForm } from './run-form.js';

const REFRESH_INTERVAL_MS = 250;

const lists = document.querySelector<HTMLElement>('#lists')!;

/** The last lines of each running build, as the server last sent them (whole, not appended). */
const tails = new Map<string, string>();

/** Fills each `<pre class="tail">` in the lists; forgets the tails of builds no longer shown. */
function showTails(): void {
  const shown = new Set<string>();
  for (const element of lists.querySelectorAll<HTMLElement>('pre.tail[data-build]')) {
    const id = element.dataset.build!;
    shown.add(id);
    element.textContent = tails.get(id) ?? '';
  }
  for (const id of tails.keys()) if (!shown.has(id)) tails.delete(id);
}

function onTail(event: MessageEvent<string>): void {
  const { id, text } = JSON.parse(event.data) as { id: number; text: string };
  tails.set(String(id), stripAnsi(text));
  const element = lists.querySelector<HTMLElement>(`pre.tail[data-build="${id}"]`);
  if (element) element.textContent = tails.get(String(id))!;
}

let latestRequest = 0;
async function refresh(): Promise<void> {
  const request = ++latestRequest;
  const response = await fetch('/monitor/fragment', { cache: 'no-store' });
  // 503: the database is away; the fragment is its banner (the lists cannot be read meanwhile).
  if (!response.ok && response.status !== 503) return;
  const fragment = await response.text();
  // An older answer arriving after a newer one would show a state that is already gone.
  if (request !== latestRequest) return;
  lists.innerHTML = fragment; // rendered and escaped by the server (src/http/views/monitor-page.ts)
  showTails();
  updateElapsed(lists);
  updateAgo(lists);
  // The tab follows the lists: running, the newest build failed, or it passed.
  const glance = lists.querySelector<HTMLElement>('#glance')?.dataset.glance as Glance | undefined;
  if (glance) showGlance(glance, 'Autobuilder monitor');
  lists.dataset.refreshed = String(Date.now());
}

/** At most one refresh per interval however many events come, and always one after the last. */
let timer: ReturnType<typeof setTimeout> | null = null;
let dirty = false;
function scheduleRefresh(): void {
  if (timer) {
    dirty = true;
    return;
  }
  void refresh().catch(() => undefined);
  timer = setTimeout(() => {
    timer = null;
    if (dirty) {
      dirty = false;
      scheduleRefresh();
    }
  }, REFRESH_INTERVAL_MS);
}

openLive(
  () => '/api/events?tails=1',
  (events) => {
    events.addEventListener('build', scheduleRefresh);
    events.addEventListener('tail', onTail);
    // The database went away or came back: the banner appears or the lists return.
    events.addEventListener('health', scheduleRefresh);
    // On every (re)connection: catch up with what changed while no events came.
    events.addEventListener('open', scheduleRefresh);
  },
);

setInterval(() => {
  updateElapsed(lists);
  updateAgo(lists);
}, 1000);

setUpRunForm();
