/**
 * The build page (/monitor/builds/:id): the whole log, streamed as it is written, and the build's
 * state, steps and controls kept current from the build events that come on the same stream.
 */
import { stripAnsi } from './ansi.js';
import { BuildControls } from './build-controls.js';
import { FINAL_STATES, renderSteps, renderSummary, type BuildView } from './build-summary.js';
import { updateElapsed } from './duration.js';
import { openLive } from './live-source.js';
import { LogView } from './log-view.js';

const log = document.querySelector<HTMLElement>('#log')!;
const buildId = Number(log.dataset.build);
const view = new LogView({
  log,
  note: document.querySelector('#log-note'),
  follow: document.querySelector('#follow'),
});
const controlsRoot = document.querySelector<HTMLElement>('.controls');
const controls = controlsRoot ? new BuildControls(buildId, controlsRoot) : null;
controls?.setFinal(FINAL_STATES.includes(document.querySelector('h1')?.dataset.state ?? ''));

function show(build: BuildView): void {
  renderSummary(build);
  renderSteps(build);
  controls?.setFinal(FINAL_STATES.includes(build.state));
}

// ONE stream for the page: the log and this build's changes (`event: build`). EventSource
// reconnects by itself and sends Last-Event-ID (the byte offset it has; build events carry no id),
// so a dropped connection resumes without a gap or a repeat. `end` means the build is over: stop.
// A stream refused by the server (503, too many watchers) is opened again later from the offset.
let offset = 0;
openLive(
  () => `/api/builds/${buildId}/log/stream?offset=${offset}`,
  (logStream) => {
    logStream.addEventListener('message', (event) => {
      view.append(stripAnsi((JSON.parse(event.data) as { text: string }).text));
      offset = Number(event.lastEventId) || offset;
    });
    logStream.addEventListener('build', (event) => {
      show(JSON.parse((event as MessageEvent<string>).data) as BuildView);
    });
    logStream.addEventListener('end', () => {
      logStream.close();
      log.dataset.ended = 'true';
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
