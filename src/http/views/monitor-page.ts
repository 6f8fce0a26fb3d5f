/** The monitor's server-rendered HTML. Every value from a push or a log goes through `html`. */
import type { Build } from '../../domain/build.js';
import { html, type SafeHtml } from './html.js';

export interface MonitorData {
  running: Build[];
  queued: { build: Build; waiting: string | null }[];
  recent: Build[];
  paused: boolean;
  engineProblem: string | null;
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

export function renderLists(data: MonitorData): SafeHtml {
  return html` ${data.paused ? html`<p class="notice">The queue is paused: queued builds wait until it is resumed.</p>` : ''}
    ${data.engineProblem ? html`<p class="notice error">Build engine unavailable: ${data.engineProblem}</p>` : ''}
    <h2>Running <span class="count">${data.running.length}</span></h2>
    <table id="running">
      <tbody>
        ${data.running.map((b) =>
          row(
            b,
            html`<td class="step">${currentStep(b)}</td><td class="elapsed" data-started="${b.startedAt ?? ''}">${duration(b)}</td>
      </tr><tr class="tail-row"><td colspan="7"><pre class="tail" data-build="${b.id}"></pre></td>`,
          ),
        )}
      </tbody>
    </table>
    ${data.running.length === 0 ? html`<p class="empty">Nothing is building.</p>` : ''}
    <h2>Queued <span class="count">${data.queued.length}</span></h2>
    <table id="queued">
      <tbody>
        ${data.queued.map(({ build, waiting }) =>
          row(
            build,
            html`<td class="waiting">${waiting ?? 'about to start'}</td>
              <td></td>`,
          ),
        )}
      </tbody>
    </table>
    <h2>Recent</h2>
    <table id="recent">
      <tbody>
        ${data.recent.map((b) =>
          row(
            b,
            html`<td class="state">
                ${b.state}${b.reason ? html`: <span class="reason">${b.reason}</span>` : ''}
              </td>
              <td>${duration(b)}</td>
              <td>
                ${b.artifact ? html`<a href="/kernels/${encodeURIComponent(b.artifact)}">${b.artifact}</a>` : ''}
              </td>`,
          ),
        )}
      </tbody>
    </table>`;
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
  return layout('Autobuilder monitor', html`<div id="lists">${renderLists(data)}</div>`, 'monitor.js');
}

export function renderBuildPage(build: Build, canControl: boolean): string {
  const body = html` <h1 data-build="${build.id}" data-state="${build.state}">
      #${build.id} ${build.repository} <span class="branch">${build.branch}</span> ${commitLink(build)}
    </h1>
    <p id="summary" class="state-${build.state}">
      <span id="state">${build.state}</span
      >${build.reason ? html`: <span class="reason">${build.reason}</span>` : ''}
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
