/** /monitor/<owner>/<name>: one repository's builds in every state, newest first, by branch. */
import type { Build } from '../../domain/build.js';
import { buildGlance } from '../../domain/glance.js';
import { html } from './html.js';
import { layout } from './layout.js';
import { recentTable } from './monitor-page.js';
import type { CacheReport } from '../../artifacts/cache-report.js';
import { renderCachesSection } from './caches-section.js';

export interface RepositoryPageData {
  repository: string;
  branch: string | null;
  builds: Build[];
  next: string | null;
  webUrl: string | null;
  configured: boolean;
  /** The build caches (caches-section.ts); null while not measured yet; absent: no section. */
  caches?: CacheReport | null;
}

export function renderRepositoryPage(data: RepositoryPageData): string {
  const { repository, branch } = data;
  const badge = `/badge/${repository}.svg?branch=${encodeURIComponent(branch ?? 'master')}`;
  const body = html`<h1>${repository}${branch ? html` <span class="branch">${branch}</span>` : ''}</h1>
    <form class="filter" method="get" action="/monitor/${repository}">
      <label>branch <input name="branch" value="${branch ?? ''}" placeholder="all branches" /></label>
      <button>show</button>
      ${branch ? html`<a href="/monitor/${repository}">all branches</a>` : ''}
    </form>
    ${data.configured ? '' : html`<p class="notice">This repository is no longer configured.</p>`}
    ${recentTable('builds', data.builds, data.webUrl)}
    ${data.builds.length === 0 ? html`<p class="empty">No builds${branch ? html` of ${branch}` : ''}.</p>` : ''}
    <p class="more">
      <a href="/monitor">back to the monitor</a>
      ${data.next ? html` · <a id="next-page" href="${data.next}">older builds</a>` : ''}
    </p>
    ${data.caches === undefined ? '' : renderCachesSection(repository, data.caches)}
    <p class="badge-hint">
      Status badge: <img src="${badge}" alt="build status" />
      <code class="copy">![build](${badge})</code>
    </p>`;
  const newest = data.builds[0];
  return layout(`${repository}${branch ? ` ${branch}` : ''}`, body, {
    script: 'list.js',
    glance: newest ? buildGlance(newest.state) : 'idle',
  });
}
