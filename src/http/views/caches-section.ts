/**
 * The repository page's "Build caches" section: each cache of the repository on each engine,
 * its size and last use, and the total per engine (sizes as the engine measured them).
 */
import type { CacheReport } from '../../artifacts/cache-report.js';
import { html, type SafeHtml } from './html.js';

/** `1.4 GiB`, `310 MiB`, `12 KiB`: a size as people read it (not an exact limit). */
export function readableSize(bytes: number | null): string {
  if (bytes === null) return 'not measured';
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (bytes >= factor) return `${(bytes / factor).toFixed(bytes >= 10 * factor ? 0 : 1)} ${unit}`;
  return `${bytes} bytes`;
}

export function renderCachesSection(repository: string, report: CacheReport | null): SafeHtml {
  if (report === null)
    return html`<section id="caches">
      <h2>Build caches</h2>
      <p class="empty">Sizes are being measured.</p>
    </section>`;
  const mine = report.caches.filter((c) => c.repository.toLowerCase() === repository.toLowerCase());
  if (mine.length === 0 && report.unanswered.length === 0) return html``;
  const engines = [...new Set(mine.map((c) => c.engine))];
  const total = (engine: string) =>
    mine.filter((c) => c.engine === engine).reduce((sum, c) => sum + (c.sizeBytes ?? 0), 0);
  return html`<section id="caches">
    <h2>Build caches</h2>
    <table class="caches">
      <thead>
        <tr>
          <th>engine</th>
          <th>ref</th>
          <th>path</th>
          <th>size</th>
          <th>last used</th>
        </tr>
      </thead>
      <tbody>
        ${mine.map(
          (c) =>
            html`<tr class="cache">
              <td>${c.engine}</td>
              <td>${c.ref}</td>
              <td><code>${c.path}</code></td>
              <td class="size">${readableSize(c.sizeBytes)}</td>
              <td>${c.lastUsed ? new Date(c.lastUsed).toISOString().replace('T', ' ').slice(0, 16) : ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <p class="cache-totals">
      ${engines.map((e) => html`<span class="cache-total">${e}: ${readableSize(total(e))}</span> `)}
      ${report.unanswered.length ? html`(not measured: ${report.unanswered.join(', ')})` : ''}
    </p>
  </section>`;
}
