/** The monitor's server-rendered HTML. Every value from a push or a log goes through `html`. */
import type { Build } from '../../domain/build.js';
import { bootLabel } from '../../domain/boot-label.js';
import type { EngineStatus } from '../../executor/engine.js';
import { html, type SafeHtml } from './html.js';
import { renderServiceSection, type ServiceSection } from './deliveries-section.js';

export interface QueuedEntry {
  build: Build;
  waiting: string | null;
}

export interface MonitorData {
  running: Build[];
  /** The first page of the queue only: with thousands queued the page stays small. */
  queued: QueuedEntry[];
  /** All queued builds, shown or not. */
  queuedCount: number;
  /** Cursor of the next page of the queue (/monitor/queued), null when all are shown. */
  queuedNext: number | null;
  recent: Build[];
  /** Cursor of older finished builds (/monitor/history), null when there are none. */
  recentNext: number | null;
  paused: boolean;
  engineProblem: string | null;
  /** Set when the database cannot be reached: the lists are then empty, not known. */
  databaseProblem?: string | null;
  /** Deliveries and config revision (deliveries-section.ts); absent on pages that do not show them. */
  service?: ServiceSection;
  /** The build engines, shown when there are several (docs/scale-out.md). */
  engines?: EngineView[];
}

export interface EngineView extends EngineStatus {
  running: number;
}

function enginesSection(engines: EngineView[] | undefined): SafeHtml {
  if (!engines || engines.length < 2) return html``;
  return html`<h2>
      Engines <span class="count">${engines.filter((e) => e.up).length}/${engines.length} up</span>
    </h2>
    <table id="engines">
      <tbody>
        ${engines.map(
          (e) =>
            html`<tr class="engine ${e.up ? 'engine-up' : 'engine-down'}" data-engine="${e.name}">
              <td>${e.name}</td>
              <td class="state">
                ${e.up ? 'up' : html`down: <span class="reason">${e.reason ?? ''}</span>`}
              </td>
              <td class="running">${e.running}/${e.capacity} running</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function commitLink(build: Build): SafeHtml {
  const url = `https://github.com/${build.repository}/commit/${build.commit}`;
  return html`<a class="sha" href="${url}">${build.commit.slice(0, 8)}</a>`;
}

function elapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
    : `${seconds}s`;
}

function duration(build: Build): string {
  if (!build.startedAt) return '';
  const end = build.finishedAt ? Date.parse(build.finishedAt) : Date.now();
  return elapsed(end - Date.parse(build.startedAt));
}

function currentStep(build: Build): string {
  const step = build.steps.at(-1);
  return step ? `step ${step.index}: ${step.command}` : 'preparing';
}

function row(build: Build, extra: SafeHtml): SafeHtml {
  return html`<tr class="build state-${build.state}" data-id="${build.id}">
    <td><a href="/monitor/builds/${build.id}">#${build.id}</a></td>
    <td>${build.repository}</td>
    <td class="branch">${build.branch}</td>
    <td>${commitLink(build)}</td>
    <td>${build.pusher ?? ''}</td>
    ${extra}
  </tr>`;
}

function queuedRow({ build, waiting }: QueuedEntry): SafeHtml {
  return row(
    build,
    html`<td class="waiting">${waiting ?? 'about to start'}</td>
      <td></td>`,
  );
}

function bootBadge(build: Build): SafeHtml | string {
  if (!build.boot) return '';
  return html` <span class="boot ${build.boot.ok ? 'boot-ok' : 'boot-failed'}"
    >${bootLabel(build.boot)}</span
  >`;
}

function recentRow(b: Build): SafeHtml {
  return row(
    b,
    html`<td class="state">
        ${b.state}${bootBadge(b)}${b.reason ? html`: <span class="reason">${b.reason}</span>` : ''}
      </td>
      <td class="engine">${b.engine ?? ''}</td>
      <td>${duration(b)}</td>
      <td>
        ${b.artifact ? html`<a href="/kernels/${encodeURIComponent(b.artifact)}">${b.artifact}</a>` : ''}
      </td>`,
  );
}

export function renderLists(data: MonitorData): SafeHtml {
  return html` ${
      data.databaseProblem
        ? html`<p class="notice error" id="database-problem">
            Database unreachable: ${data.databaseProblem}. Builds cannot be listed or recorded until it is
            back; webhooks are answered 503 so GitHub shows the failure and can redeliver them.
          </p>`
        : ''
    }
    ${data.paused ? html`<p class="notice">The queue is paused: queued builds wait until it is resumed.</p>` : ''}
    ${data.engineProblem ? html`<p class="notice error">Build engine unavailable: ${data.engineProblem}</p>` : ''}
    ${enginesSection(data.engines)}
    <h2>Running <span class="count">${data.running.length}</span></h2>
    <table id="running">
      <tbody>
        ${data.running.map((b) =>
          row(
            b,
            html`<td class="step">${currentStep(b)}</td><td class="engine">${b.engine ?? ''}</td><td class="elapsed" data-started="${b.startedAt ?? ''}">${duration(b)}</td>
      </tr><tr class="tail-row"><td colspan="8"><pre class="tail" data-build="${b.id}"></pre></td>`,
          ),
        )}
      </tbody>
    </table>
    ${data.running.length === 0 ? html`<p class="empty">Nothing is building.</p>` : ''}
    <h2>Queued <span class="count">${data.queuedCount}</span></h2>
    <table id="queued">
      <tbody>
        ${data.queued.map(queuedRow)}
      </tbody>
    </table>
    ${
      data.queuedNext !== null && data.queuedCount > data.queued.length
        ? html`<p class="more" id="queued-more">
            and ${data.queuedCount - data.queued.length} more:
            <a href="/monitor/queued?cursor=${data.queuedNext}">see the rest of the queue</a>
          </p>`
        : ''
    }
    <h2>Recent</h2>
    <table id="recent">
      <tbody>
        ${data.recent.map(recentRow)}
      </tbody>
    </table>
    ${
      data.recentNext !== null
        ? html`<p class="more" id="recent-more">
            <a href="/monitor/history?cursor=${data.recentNext}">older builds</a>
          </p>`
        : ''
    }`;
}

export function layout(title: string, body: SafeHtml, script?: string): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="/monitor/assets/monitor.css" />
      </head>
      <body>
        <header><a href="/monitor">Zero-OS Autobuilder</a></header>
        <main>${body}</main>
        ${script ? html`<script type="module" src="/monitor/assets/${script}"></script>` : ''}
      </body>
    </html>`.value;
}

export function renderMonitor(data: MonitorData): string {
  return layout(
    'Autobuilder monitor',
    html`<div id="lists">${renderLists(data)}</div>
      ${data.service ? renderServiceSection(data.service) : ''}`,
    'monitor.js',
  );
}

/** One page of a long list (/monitor/queued, /monitor/history), with a link to the next. */
export function renderListPage(
  title: string,
  page: { queued: QueuedEntry[] } | { recent: Build[] },
  nextUrl: string | null,
): string {
  const rows = 'queued' in page ? page.queued.map(queuedRow) : page.recent.map(recentRow);
  const body = html`<h1>${title}</h1>
    <table id="${'queued' in page ? 'queued' : 'recent'}">
      <tbody>
        ${rows}
      </tbody>
    </table>
    ${rows.length === 0 ? html`<p class="empty">Nothing more.</p>` : ''}
    <p class="more">
      <a href="/monitor">back to the monitor</a>
      ${nextUrl ? html` · <a id="next-page" href="${nextUrl}">next page</a>` : ''}
    </p>`;
  return layout(title, body);
}

export function renderBuildPage(build: Build, canControl: boolean): string {
  const body = html` <h1 data-build="${build.id}" data-state="${build.state}">
      #${build.id} ${build.repository} <span class="branch">${build.branch}</span> ${commitLink(build)}
    </h1>
    <p id="summary" class="state-${build.state}">
      <span id="state">${build.state}</span
      >${bootBadge(build)}${build.reason ? html`: <span class="reason">${build.reason}</span>` : ''}
      ${build.engine ? html` — on engine <span id="engine">${build.engine}</span>` : ''}
      ${build.artifact ? html` — kernel <a href="/kernels/${encodeURIComponent(build.artifact)}">${build.artifact}</a>` : ''}
    </p>
    <p class="controls" data-needs-token="${canControl ? 'false' : 'true'}">
      <a href="/api/builds/${build.id}/log" download="build-${build.id}.log">raw log</a>
      <button id="cancel" ${canControl ? '' : 'disabled title="needs an API token"'}>cancel</button>
      <button id="rebuild" ${canControl ? '' : 'disabled title="needs an API token"'}>rebuild</button>
      ${canControl ? '' : html`<a href="#" id="set-token">set token</a>`}
      <span id="control-result" role="status"></span>
    </p>
    <h2>Commits</h2>
    <ul id="commits">
      ${build.commits.map(
        (c) =>
          html`<li>
            <a class="sha" href="${/^https?:\/\//.test(c.url) ? c.url : '#'}">${c.sha.slice(0, 8)}</a>
            <span class="author">${c.author}</span>: <span class="message">${c.message}</span>
          </li>`,
      )}
    </ul>
    <h2>Steps</h2>
    <ol id="steps">
      ${build.steps.map(
        (s) =>
          html`<li>
            ${s.command}
            ${
              s.exitCode === undefined || !s.finishedAt
                ? html`<em>running</em> <span class="step-time" data-started="${s.startedAt}"></span>`
                : html`<span class="exit">exit ${s.exitCode}</span
                    ><span class="step-time">
                      in ${elapsed(Date.parse(s.finishedAt) - Date.parse(s.startedAt))}</span
                    >`
            }
          </li>`,
      )}
    </ol>
    <h2>Log</h2>
    <p id="log-note" hidden>
      Only the last lines are shown. <a href="/api/builds/${build.id}/log">Show the full log</a>.
    </p>
    <pre id="log" data-build="${build.id}"></pre>
    <button id="follow" hidden>follow the end of the log</button>`;
  return layout(`#${build.id} ${build.repository} ${build.branch}`, body, 'build.js');
}
