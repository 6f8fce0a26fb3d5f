/**
 * Search over the whole log: the server reads the log file (GET /api/builds/:id/log/search), so a
 * line that is no longer on the page (past the 5,000 kept) is found too. Each match links to its
 * line (`#L…`) and shows its text, set with textContent.
 */
interface SearchAnswer {
  matches: { line: number; text: string }[];
  truncated: boolean;
}

export function setUpSearch(buildId: number, form: HTMLFormElement, results: HTMLElement): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new FormData(form).get('q')?.toString() ?? '';
    if (query.trim() === '') return results.replaceChildren();
    void search(buildId, query, results).catch((error: Error) => {
      results.replaceChildren(`search failed: ${error.message}`);
    });
  });
}

async function search(buildId: number, query: string, results: HTMLElement): Promise<void> {
  results.textContent = 'searching…';
  const response = await fetch(`/api/builds/${buildId}/log/search?q=${encodeURIComponent(query)}`);
  const body = (await response.json()) as SearchAnswer & { message?: string };
  if (!response.ok) throw new Error(body.message ?? String(response.status));
  const items = body.matches.map(({ line, text }) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `#L${line}`;
    link.textContent = `L${line}`;
    const shown = document.createElement('span');
    shown.className = 'match-text';
    shown.textContent = text;
    item.append(link, ' ', shown);
    return item;
  });
  const heading = document.createElement('p');
  heading.textContent =
    body.matches.length === 0
      ? 'no line matches'
      : `${body.matches.length}${body.truncated ? '+' : ''} matching line${body.matches.length === 1 ? '' : 's'}`;
  const list = document.createElement('ol');
  list.append(...items);
  results.replaceChildren(heading, list);
}
