/** The build page (/monitor/builds/:id) as the server renders it; web/build.ts keeps it live. */
import { isFinal, type Build } from '../../domain/build.js';
import { buildGlance } from '../../domain/glance.js';
import { formatElapsed } from '../../domain/duration.js';
import { commitLink, repositoryLink, stateBadge, timeCell } from './build-cells.js';
import { bootBadge } from './monitor-page.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { refLabel } from '../../domain/pull-request.js';

export interface BuildPageData {
  build: Build;
  canControl: boolean;
  webUrl: string | null;
  /** Whether the log file is still on disk (retention removes old builds' logs). */
  logPresent: boolean;
  /** Builds per repository and ref whose logs retention keeps. */
  retentionKeep: number;
}

function steps(build: Build): SafeHtml {
  return html`<ol id="steps">
    ${build.steps.map(
      (s) =>
        html`<li>
          ${s.command}
          ${
            s.exitCode === undefined || !s.finishedAt
              ? html`<em>running</em> <span class="step-time" data-started="${s.startedAt}"></span>`
              : html`<span class="exit">exit ${s.exitCode}</span
                  ><span class="step-time">
                    in ${formatElapsed(Date.parse(s.finishedAt) - Date.parse(s.startedAt))}</span
                  >`
          }
        </li>`,
    )}
  </ol>`;
}

/** A log retention removed (or that is missing) says so, and when the build ran, not an empty box. */
function prunedNote(data: BuildPageData): SafeHtml {
  const { build } = data;
  if (!build.startedAt)
    return html`<p class="notice" id="log-missing">No log yet: the build has not started.</p>`;
  return html`<p class="notice" id="log-missing">
    ${
      build.logPath === null
        ? html`This build's log was removed by retention, which keeps the logs of the newest
          ${data.retentionKeep} finished builds of each branch.`
        : html`This build's log file is missing from the logs directory.`
    }
    The build ran
    ${timeCell(build.startedAt)}${build.finishedAt ? html` and ended ${timeCell(build.finishedAt)}` : ''}.
  </p>`;
}

export function renderBuildPage(data: BuildPageData): string {
  const { build, canControl } = data;
  const title = `#${build.id} ${build.repository} ${refLabel(build)}`;
  // A build not yet ended streams its log (a just-started one may not have written its file yet).
  const hasLog = data.logPresent || !isFinal(build.state);
  const body = html` <h1 data-build="${build.id}" data-state="${build.state}" data-title="${title}">
      #${build.id} ${repositoryLink(build.repository)} <span class="branch">${refLabel(build)}</span>
      ${commitLink(build, data.webUrl)}
    </h1>
    <p id="summary" class="state-${build.state}">
      <span id="state">${stateBadge(build)}</span
      >${bootBadge(build)}${build.reason ? html`: <span class="reason">${build.reason}</span>` : ''}
      ${build.artifact ? html` — kernel <a href="/kernels/${encodeURIComponent(build.artifact)}">${build.artifact}</a>` : ''}
    </p>
    ${build.engine ? html`<p class="engine-line">on engine <span id="engine">${build.engine}</span></p>` : ''}
    <div id="failure" class="failure" hidden></div>
    <p class="times">
      queued
      ${timeCell(build.createdAt)}${build.startedAt ? html`, started ${timeCell(build.startedAt)}` : ''}${
        build.finishedAt ? html`, ended ${timeCell(build.finishedAt)}` : ''
      }
    </p>
    ${pullLine(build)}
    <p class="controls" data-needs-token="${canControl ? 'false' : 'true'}">
      <a href="/api/builds/${build.id}/log" download="build-${build.id}.log">raw log</a>
      <button id="cancel" ${canControl ? '' : 'disabled title="needs an API token"'}>cancel</button>
      <button id="rebuild" ${canControl ? '' : 'disabled title="needs an API token"'}>rebuild</button>
      ${
        build.pull?.approval === 'awaiting' && build.state === 'queued'
          ? html`<button id="approve" ${canControl ? '' : 'disabled title="needs an API token"'}>
              approve
            </button>`
          : ''
      }
      ${canControl ? '' : html`<a href="#" id="set-token">set token</a>`}
      <span id="control-result" role="status"></span>
    </p>
    <h2>Commits</h2>
    <ul id="commits">
      ${build.commits.map(
        (c) =>
          html`<li>
            ${
              data.webUrl && /^https?:\/\//.test(c.url)
                ? html`<a class="sha" href="${c.url}">${c.sha.slice(0, 8)}</a>`
                : html`<span class="sha">${c.sha.slice(0, 8)}</span>`
            }
            <span class="author">${c.author}</span>: <span class="message">${c.message}</span>
          </li>`,
      )}
    </ul>
    <h2>Steps</h2>
    ${steps(build)}
    <h2>Log</h2>
    ${
      hasLog
        ? html`<form id="log-search" role="search">
              <input type="search" name="q" placeholder="search the whole log" aria-label="search the log" />
              <button>search</button>
              <button id="times-toggle" type="button" aria-pressed="false" title="when each line arrived">
                Times
              </button>
            </form>
            <p id="times-note" class="notice" hidden>
              Times are not recorded for this build: its log was written before line times were kept.
            </p>
            <div id="search-results" role="status"></div>
            <p id="log-note" hidden>
              Only the last 5,000 lines are shown (search covers them all).
              <a href="/api/builds/${build.id}/log">Show the full log</a>.
            </p>
            <p id="line-missing" class="notice" hidden></p>
            <div id="log" class="log" data-build="${build.id}"></div>
            <button id="follow" hidden>follow the end of the log</button>`
        : html`${prunedNote(data)}
            <div id="log" class="log" data-build="${build.id}" data-pruned="true" hidden></div>`
    }`;
  return layout(title, body, { script: 'build.js', glance: buildGlance(build.state) });
}

/** A pull request's facts: where it comes from, who opened it, whether it waits for approval. */
function pullLine(build: Build): SafeHtml | string {
  const pull = build.pull;
  if (!pull) return '';
  const approval =
    pull.approval === 'awaiting'
      ? html` — <strong class="awaiting">waiting for approval</strong> (a fork's code gets no secrets)`
      : pull.approval === 'approved'
        ? ' — approved'
        : '';
  return html`<p class="pull-line" id="pull">
    pull request #${String(pull.number)} by ${pull.author} from
    ${pull.headRepository}${pull.fork ? ' (fork)' : ''} into ${pull.baseBranch}${approval}
  </p>`;
}
