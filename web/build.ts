/**
 * The build page (/monitor/builds/:id): the whole log, streamed as it is written, and the build's
 * state, steps and controls kept current from the build events.
 */
import { stripAnsi } from './ansi.js';
import { BuildControls } from './build-controls.js';
import { FINAL_STATES, renderSteps, renderSummary, type BuildView } from './build-summary.js';
import { updateElapsed } from './duration.js';
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

// EventSource reconnects by itself and sends Last-Event-ID (the byte offset it has), so a dropped
// connection resumes without a gap or a repeat. `end` means the build is over: stop reconnecting.
const logStream = new EventSource(`/api/builds/${buildId}/log/stream`);
logStream.addEventListener('message', (event) => {
  view.append(stripAnsi((JSON.parse(event.data) as { text: string }).text));
});
logStream.addEventListener('end', () => {
  logStream.close();
  log.dataset.ended = 'true';
});

const buildEvents = new EventSource('/api/events');
buildEvents.addEventListener('build', (event) => {
  const build = JSON.parse((event as MessageEvent<string>).data) as BuildView;
  if (build.id === buildId) show(build);
});
// On every (re)connection: what changed while no events came.
buildEvents.addEventListener('open', () => {
  void fetch(`/api/builds/${buildId}`)
    .then((response) => (response.ok ? (response.json() as Promise<BuildView>) : null))
    .then((build) => build && show(build))
    .catch(() => undefined);
});

// Running steps show how long they have been running.
const steps = document.querySelector<HTMLElement>('#steps');
if (steps) setInterval(() => updateElapsed(steps), 1000);
