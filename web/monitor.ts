/**
 * The monitor page (/monitor): the lists are re-rendered by the server (GET /monitor/fragment,
 * escaped there) when a build changes; each running build shows the last lines of its log.
 */
import { stripAnsi } from './ansi.js';
import { updateElapsed } from './duration.js';
import { LastLines } from './last-lines.js';

const REFRESH_INTERVAL_MS = 250;
const TAIL_LINES = 15;
/** Enough bytes for 15 lines of a compiler's output; the server starts at a line boundary. */
const TAIL_BYTES = 8 * 1024;

const lists = document.querySelector<HTMLElement>('#lists')!;

interface Tail {
  source: EventSource;
  lines: LastLines;
  element: HTMLElement | null;
}
const tails = new Map<string, Tail>();

function openTail(id: string): Tail {
  const tail: Tail = {
    source: new EventSource(`/api/builds/${encodeURIComponent(id)}/log/stream?tail=${TAIL_BYTES}`),
    lines: new LastLines(TAIL_LINES),
    element: null,
  };
  tail.source.addEventListener('message', (event) => {
    tail.lines.push(stripAnsi((JSON.parse(event.data) as { text: string }).text));
    if (tail.element) tail.element.textContent = tail.lines.text;
  });
  tail.source.addEventListener('end', () => tail.source.close());
  return tail;
}

/** Gives each `<pre class="tail">` in the new lists its stream; closes the streams of the others. */
function attachTails(): void {
  const seen = new Set<string>();
  for (const element of lists.querySelectorAll<HTMLElement>('pre.tail[data-build]')) {
    const id = element.dataset.build!;
    seen.add(id);
    let tail = tails.get(id);
    if (!tail) tails.set(id, (tail = openTail(id)));
    tail.element = element;
    element.textContent = tail.lines.text;
  }
  for (const [id, tail] of tails) {
    if (seen.has(id)) continue;
    tail.source.close();
    tails.delete(id);
  }
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
  attachTails();
  updateElapsed(lists);
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

const events = new EventSource('/api/events');
events.addEventListener('build', scheduleRefresh);
// The database went away or came back: the banner appears or the lists return.
events.addEventListener('health', scheduleRefresh);
// On every (re)connection: catch up with what changed while no events came.
events.addEventListener('open', scheduleRefresh);

attachTails();
setInterval(() => updateElapsed(lists), 1000);
