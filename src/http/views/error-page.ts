/** An error as a page, for browsers on the monitor's pages; the API answers JSON (error-handler.ts). */
import type { AppError } from '../../errors.js';
import { html } from './html.js';
import { layout } from './layout.js';

const TITLES: Record<number, string> = { 404: 'Not found', 400: 'Bad request', 503: 'Unavailable' };

export function renderErrorPage(error: AppError): string {
  const title = TITLES[error.status] ?? (error.status >= 500 ? 'Something went wrong' : 'Refused');
  return layout(
    `${error.status} ${title}`,
    html`<h1>${title}</h1>
      <p class="notice error" id="error" data-code="${error.code}">${error.message}</p>
      <p><a href="/monitor">Go to the monitor</a></p>`,
  );
}

/** A browser asking for a page (not the API, hooks or files): monitor pages and unknown paths. */
export function wantsHtmlPage(url: string, accept: string | undefined): boolean {
  const path = url.split('?')[0] ?? '';
  if (/^\/(api|build|kernels|metrics|healthz|badge)(\/|$)/.test(path)) return false;
  return (accept ?? '').includes('text/html');
}
