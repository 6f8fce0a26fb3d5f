/**
 * The pieces of a build row and page: state as icon and word, times as "5 min ago" with the
 * absolute time on hover, durations, and links to the forge (none when there is no web URL).
 */
import type { Build } from '../../domain/build.js';
import { formatElapsed } from '../../domain/duration.js';
import { ago, stateLook } from '../../domain/glance.js';
import { html, type SafeHtml } from './html.js';

export function duration(build: Build): string {
  if (!build.startedAt) return '';
  const end = build.finishedAt ? Date.parse(build.finishedAt) : Date.now();
  return formatElapsed(end - Date.parse(build.startedAt));
}

/** How long it waited in the queue (until it started, or until now). */
export function queuedFor(build: Build): string {
  const end = build.startedAt ? Date.parse(build.startedAt) : build.finishedAt ? null : Date.now();
  return end === null ? '' : formatElapsed(end - Date.parse(build.createdAt));
}

export function timeCell(iso: string | null): SafeHtml {
  if (!iso) return html``;
  return html`<time datetime="${iso}" title="${new Date(iso).toUTCString()}" data-ago="${iso}"
    >${ago(iso)}</time
  >`;
}

export function stateBadge(build: Build): SafeHtml {
  const look = stateLook(build.state);
  return html`<span class="state tone-${look.tone}"
    ><span class="state-icon" aria-hidden="true">${look.icon}</span> ${look.word}</span
  >`;
}

export function commitLink(build: Build, webUrl: string | null): SafeHtml {
  const short = build.commit.slice(0, 8);
  if (!webUrl) return html`<span class="sha">${short}</span>`;
  return html`<a class="sha" href="${webUrl}/${build.repository}/commit/${build.commit}">${short}</a>`;
}

export function repositoryLink(repository: string): SafeHtml {
  return html`<a class="repository" href="/monitor/${repository}">${repository}</a>`;
}
