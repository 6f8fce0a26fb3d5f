/**
 * "Run a build" on the monitor: what `autobuilder trigger` does (`POST /api/builds`), for admins.
 * Like cancel and rebuild, the form works for a reader the server lets write (an API token stored
 * with "set token", or a client on the service host when no token is configured).
 */
import { html, type SafeHtml } from './html.js';

export function renderRunSection(repositories: readonly string[], canControl: boolean): SafeHtml {
  if (repositories.length === 0) return html``;
  return html`<section id="run" data-needs-token="${canControl ? 'false' : 'true'}">
    <h2>Run a build</h2>
    <form id="run-form" class="run-form">
      <label
        >repository
        <select name="repository">
          ${repositories.map((r) => html`<option value="${r}">${r}</option>`)}
        </select></label
      >
      <label
        ><select name="refType" aria-label="ref type">
          <option value="branch">branch</option>
          <option value="tag">tag</option>
        </select>
        <input name="ref" required value="master" size="16" aria-label="branch or tag name"
      /></label>
      <label
        >commit
        <input name="commit" placeholder="(the ref's head)" size="20" pattern="[0-9a-f]{40}([0-9a-f]{24})?"
      /></label>
      <button id="run-button" type="submit">Run</button>
      ${canControl ? '' : html`<a href="#" id="run-set-token">set token</a>`}
      <span id="run-result" role="status"></span>
    </form>
  </section>`;
}
