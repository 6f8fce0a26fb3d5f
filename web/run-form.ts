/**
 * The monitor's "Run a build" form: `POST /api/builds` (what `autobuilder trigger` sends), with
 * the stored API token when the server wants one. The new build appears in the lists through the
 * event stream like any other; the answer links to it.
 */
import { askForToken, postWithToken, storedToken } from './token.js';

export function setUpRunForm(): void {
  const section = document.querySelector<HTMLElement>('#run');
  const form = section?.querySelector<HTMLFormElement>('#run-form');
  if (!section || !form) return;
  const result = form.querySelector<HTMLElement>('#run-result')!;
  const button = form.querySelector<HTMLButtonElement>('#run-button')!;
  const needsToken = section.dataset.needsToken === 'true';
  const refresh = () => {
    const allowed = !needsToken || storedToken() !== null;
    button.disabled = !allowed;
    button.title = allowed ? '' : 'needs an API token: use "set token"';
  };
  form.querySelector('#run-set-token')?.addEventListener('click', (event) => {
    event.preventDefault();
    askForToken();
    refresh();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const commit = String(data.get('commit') ?? '').trim();
    const body = {
      repository: String(data.get('repository')),
      [data.get('refType') === 'tag' ? 'tag' : 'branch']: String(data.get('ref') ?? '').trim(),
      ...(commit ? { commit } : {}),
    };
    result.textContent = 'starting…';
    postWithToken('/api/builds', body)
      .then(async (response) => {
        const answer = (await response.json().catch(() => ({}))) as { id?: number; message?: string };
        if (!response.ok || answer.id === undefined) {
          result.textContent = `refused: ${answer.message ?? response.status}`;
          return;
        }
        const link = document.createElement('a');
        link.href = `/monitor/builds/${answer.id}`;
        link.textContent = `#${answer.id}`;
        result.replaceChildren(document.createTextNode('queued as '), link);
      })
      .catch((error: Error) => {
        result.textContent = `failed: ${error.message}`;
      });
  });
  refresh();
}
