/**
 * The build page (/monitor/builds/:id): the whole log, streamed as it is written, and the build's
 * state, steps and controls kept current from the build events that come on the same stream.
 */
import { buildGlance } from '../src/domain/glance.js';
import { isFinal, type BuildState } from '../src/domain/build.js';
import { BuildControls } from './build-controls.js';
import { renderSteps, renderSummary, type BuildView } from './build-summary.js';
import { updateElapsed } from './duration.js';
import { showGlance } from './glance.js';
import { openLive } from './live-source.js';
import { setUpSearch } from './log-search.js';
import { LineTimes } from './line-times.js';
import { LogView } from './log-view.js';

const log = document.querySelector<HTMLElement>('#log')!;
const buildId = Number(log.dataset.build);
const heading = document.querySelector<HTMLElement>('h1[data-build]');
const pageTitle = heading?.dataset.title ?? document.title;
const view = new LogView({
  log,
  note: document.querySelector('#log-note'),
  follow: document.querySelector('#follow'),
  missing: document.querySelector('#line-missing'),
});
const timesToggle = document.querySelector<HTMLButtonElement>('#times-toggle');
const times = timesToggle
  ? new LineTimes(buildId, view, log, timesToggle, document.querySelector('#times-note'))
  : null;
const controlsRoot = document.querySelector<HTMLElement>('.controls');
const controls = controlsRoot ? new BuildControls(buildId, controlsRoot) : null;
controls?.setFinal(isFinal((heading?.dataset.state ?? '') as BuildState));

let latest: BuildView | null = null;
let ended = false;

function show(build: BuildView): void {
  latest = build;
  renderSummary(build);
  renderSteps(build);
  view.sections.setSteps(build.steps);
  controls?.setFinal(isFinal(build.state));
  showGlance(buildGlance(build.state), pageTitle);
  showFailure();
}

/** A failed step: its last lines under the reason, once the log has them all. */
function showFailure(): void {
  const box = document.querySelector<HTMLElement>('#failure');
  if (!box || !ended || latest?.state !== 'failed') return;
  const failed = latest.steps.find((step) => step.exitCode !== undefined && step.exitCode !== 0);
  const lines = failed ? view.sections.lastLines(failed.index, 10) : [];
  if (lines.length === 0) return;
  const title = document.createElement('p');
  title.textContent = `The last lines of step ${failed!.index} (${failed!.command}):`;
  const pre = document.createElement('pre');
  pre.textContent = lines.join('\n');
  box.replaceChildren(title, pre);
  box.hidden = false;
}

/** `#L120`: that line, highlighted and scrolled to, once it has arrived. */
function followHash(): void {
  const match = /^#L(\d+)$/.exec(location.hash);
  if (match) view.goTo(Number(match[1]));
}
window.addEventListener('hashchange', followHash);
followHash();

const searchForm = document.querySelector<HTMLFormElement>('#log-search');
const searchResults = document.querySelector<HTMLElement>('#search-results');
if (searchForm && searchResults) setUpSearch(buildId, searchForm, searchResults);

// ONE stream for the page: the log and this build's changes (`event: build`). EventSource
// reconnects by itself and sends Last-Event-ID (the byte offset it has; build events carry no id),
// so a dropped connection resumes without a gap or a repeat. `end` means the build is over: stop.
// A stream refused by the server (503, too many watchers) is opened again later from the offset.
let offset = 0;
if (log.dataset.pruned !== 'true')
  openLive(
    () => `/api/builds/${buildId}/log/stream?offset=${offset}`,
    (logStream) => {
      logStream.addEventListener('message', (event) => {
        view.append((JSON.parse(event.data) as { text: string }).text);
        times?.update();
        offset = Number(event.lastEventId) || offset;
      });
      logStream.addEventListener('build', (event) => {
        show(JSON.parse((event as MessageEvent<string>).data) as BuildView);
      });
      logStream.addEventListener('end', () => {
        logStream.close();
        ended = true;
        log.dataset.ended = 'true';
        showFailure();
      });
      // On every (re)connection: what changed while no events came.
      logStream.addEventListener('open', () => {
        void fetch(`/api/builds/${buildId}`)
          .then((response) => (response.ok ? (response.json() as Promise<BuildView>) : null))
          .then((build) => build && show(build))
          .catch(() => undefined);
      });
    },
  );

// Running steps show how long they have been running.
const steps = document.querySelector<HTMLElement>('#steps');
if (steps) setInterval(() => updateElapsed(steps), 1000);
