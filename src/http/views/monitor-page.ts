/** The monitor's server-rendered HTML. Every value from a push or a log goes through `html`. */
import { bootLabel } from '../../domain/boot-label.js';
import type { Build } from '../../domain/build.js';
import type { EngineStatus } from '../../executor/engine.js';
import { listGlance } from '../../domain/glance.js';
import { commitLink, duration, queuedFor, repositoryLink, stateBadge, timeCell } from './build-cells.js';
import { renderServiceSection, type ServiceSection } from './deliveries-section.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { refLabel } from '../../domain/pull-request.js';
import { renderRunSection } from './run-section.js';

// Pages elsewhere import the frame from here, as they did before it had a file of its own.
export { layout } from './layout.js';

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
  /** The forge's web address for commit links (`github.web_url`); none for a local git. */
  webUrl: string | null;
  /** Shown when no build exists yet. */
  start?: StartHints;
  /** Deliveries and config revision (deliveries-section.ts); absent on pages that do not show them. */
  service?: ServiceSection;
  /** The build engines, shown when there are several (docs/scale-out.md). */
  engines?: EngineView[];
  /** "Run a build" (run-section.ts): the configured repositories, and whether this reader may write. */
  run?: { repositories: string[]; canControl: boolean };
}

export interface EngineView extends EngineStatus {
  running: number;
}

function enginesSection(engines: EngineView[] | undefined): SafeHtml {
  if (!engines || engines.length < 2) return html``;
  return html`<h2>
      Engines <span class="count">${engines.filter((e) => e.up).length}/${engines.length} up</span>
    </h2>
    <div class="table-wrap">
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
      </table>
    </div>`;
}

/** "boots ✓ 7.3 s" / "boot failed" after the state, for a rule with a boot test. */
export function bootBadge(build: Build): SafeHtml | string {
  if (!build.boot) return '';
  return html` <span class="boot ${build.boot.ok ? 'boot-ok' : 'boot-failed'}"
    >${bootLabel(build.boot)}</span
  >`;
}

function currentStep(build: Build): string {
  const step = build.steps.at(-1);
  return step ? `step ${step.index}: ${step.command}` : 'preparing';
}

type Cell = [label: string, content: SafeHtml | string, className?: string];

/** The columns every list starts with. */
const LEAD = ['Build', 'Repository', 'Branch', 'Commit', 'Pusher'];

function head(labels: string[]): SafeHtml {
  return html`<thead>
    <tr>
      ${[...LEAD, ...labels].map((label) => html`<th scope="col">${label}</th>`)}
    </tr>
  </thead>`;
}

/** A build row; every cell carries its column's name (`data-label`) for the narrow-screen layout. */
function row(build: Build, webUrl: string | null, cells: Cell[]): SafeHtml {
  const all: Cell[] = [
    ['Build', html`<a href="/monitor/builds/${build.id}">#${build.id}</a>`],
    ['Repository', repositoryLink(build.repository)],
    ['Branch', refLabel(build), 'branch'],
    ['Commit', commitLink(build, webUrl)],
    ['Pusher', build.pusher ?? ''],
    ...cells,
  ];
  return html`<tr class="build state-${build.state}" data-id="${build.id}">
    ${all.map(([label, content, className]) => html`<td data-label="${label}" class="${className ?? ''}">${content}</td>`)}
  </tr>`;
}

const RUNNING_COLUMNS = ['Step', 'Engine', 'Started', 'Running for'];
const QUEUED_COLUMNS = ['Waiting', 'Queued for'];
const RECENT_COLUMNS = ['State', 'Engine', 'Started', 'Duration', 'Queued', 'Kernel'];

function runningRow(build: Build, webUrl: string | null): SafeHtml {
  return html`${row(build, webUrl, [
      ['Step', currentStep(build), 'step'],
      ['Engine', build.engine ?? '', 'engine'],
      ['Started', timeCell(build.startedAt)],
      [
        'Running for',
        html`<span class="elapsed" data-started="${build.startedAt ?? ''}">${duration(build)}</span>`,
      ],
    ])}
    <tr class="tail-row">
      <td colspan="${LEAD.length + RUNNING_COLUMNS.length}">
        <pre class="tail" data-build="${build.id}"></pre>
      </td>
    </tr>`;
}

function queuedRow({ build, waiting }: QueuedEntry, webUrl: string | null): SafeHtml {
  return row(build, webUrl, [
    ['Waiting', waiting ?? 'about to start', 'waiting'],
    ['Queued for', html`<span class="elapsed" data-started="${build.createdAt}">${queuedFor(build)}</span>`],
  ]);
}

export function recentRow(b: Build, webUrl: string | null): SafeHtml {
  return row(b, webUrl, [
    [
      'State',
      html`${stateBadge(b)}${bootBadge(b)}${b.reason ? html`: <span class="reason">${b.reason}</span>` : ''}`,
    ],
    ['Engine', b.engine ?? '', 'engine'],
    ['Started', timeCell(b.startedAt)],
    ['Duration', duration(b)],
    ['Queued', queuedFor(b)],
    [
      'Kernel',
      b.artifact ? html`<a href="/kernels/${encodeURIComponent(b.artifact)}">${b.artifact}</a>` : '',
    ],
  ]);
}

export function recentTable(id: string, builds: Build[], webUrl: string | null): SafeHtml {
  return html`<div class="table-wrap">
    <table id="${id}">
      ${head(RECENT_COLUMNS)}
      <tbody>
        ${builds.map((b) => recentRow(b, webUrl))}
      </tbody>
    </table>
  </div>`;
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
    <span id="glance" hidden data-glance="${monitorGlance(data)}"></span>
    ${
      data.start && !data.databaseProblem && data.running.length + data.queuedCount + data.recent.length === 0
        ? emptyState(data.start)
        : ''
    }
    <h2>Running <span class="count">${data.running.length}</span></h2>
    <div class="table-wrap">
      <table id="running">
        ${head(RUNNING_COLUMNS)}
        <tbody>
          ${data.running.map((b) => runningRow(b, data.webUrl))}
        </tbody>
      </table>
    </div>
    ${data.running.length === 0 ? html`<p class="empty">Nothing is building.</p>` : ''}
    <h2>Queued <span class="count">${data.queuedCount}</span></h2>
    <div class="table-wrap">
      <table id="queued">
        ${head(QUEUED_COLUMNS)}
        <tbody>
          ${data.queued.map((entry) => queuedRow(entry, data.webUrl))}
        </tbody>
      </table>
    </div>
    ${
      data.queuedNext !== null && data.queuedCount > data.queued.length
        ? html`<p class="more" id="queued-more">
            and ${data.queuedCount - data.queued.length} more:
            <a href="/monitor/queued?cursor=${data.queuedNext}">see the rest of the queue</a>
          </p>`
        : ''
    }
    <h2>Recent</h2>
    ${recentTable('recent', data.recent, data.webUrl)}
    ${
      data.recentNext !== null
        ? html`<p class="more" id="recent-more">
            <a href="/monitor/history?cursor=${data.recentNext}">older builds</a>
          </p>`
        : ''
    }`;
}

/** The lists' state for the tab (title mark, favicon): the page script reads it after a refresh. */
export function monitorGlance(data: MonitorData) {
  return listGlance(data.running.length, data.recent[0]?.state ?? null);
}

/** Nothing built yet: how to start, per configured repository. */
function emptyState(start: StartHints): SafeHtml {
  return html`<section id="getting-started">
    <h2>No builds yet</h2>
    <p>
      Add a webhook to each repository on GitHub (<em>Settings → Webhooks → Add webhook</em>): payload URL
      <code class="copy">${start.hookUrl}</code>, content type <code>application/json</code>, the secret from
      <code>webhook_secret</code>, the <em>push</em> event. Or start a build by hand:
    </p>
    <ul class="repositories">
      ${start.repositories.map(
        (repository) =>
          html`<li>
            ${repositoryLink(repository)}: <code class="copy">autobuilder trigger ${repository} master</code>
          </li>`,
      )}
    </ul>
    ${start.repositories.length === 0 ? html`<p>No repository is configured yet (<code>repositories:</code> in the config file).</p>` : ''}
  </section>`;
}

export interface StartHints {
  hookUrl: string;
  repositories: string[];
}

export function renderMonitor(data: MonitorData): string {
  return layout(
    'Autobuilder monitor',
    html`<div id="lists">${renderLists(data)}</div>
      ${data.run ? renderRunSection(data.run.repositories, data.run.canControl) : ''}
      ${data.service ? renderServiceSection(data.service) : ''}`,
    {
      script: 'monitor.js',
      glance: monitorGlance(data),
    },
  );
}

/** One page of a long list (/monitor/queued, /monitor/history), with a link to the next. */
export function renderListPage(
  title: string,
  page: { queued: QueuedEntry[] } | { recent: Build[] },
  nextUrl: string | null,
  webUrl: string | null,
): string {
  const count = 'queued' in page ? page.queued.length : page.recent.length;
  const table =
    'queued' in page
      ? html`<div class="table-wrap">
          <table id="queued">
            ${head(QUEUED_COLUMNS)}
            <tbody>
              ${page.queued.map((entry) => queuedRow(entry, webUrl))}
            </tbody>
          </table>
        </div>`
      : recentTable('recent', page.recent, webUrl);
  const body = html`<h1>${title}</h1>
    ${table} ${count === 0 ? html`<p class="empty">Nothing more.</p>` : ''}
    <p class="more">
      <a href="/monitor">back to the monitor</a>
      ${nextUrl ? html` · <a id="next-page" href="${nextUrl}">next page</a>` : ''}
    </p>`;
  return layout(title, body, { script: 'list.js' });
}
