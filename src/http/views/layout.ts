/** The page frame every monitor page shares: title and favicon follow the page's state. */
import { faviconHref, glanceTitle, type Glance } from '../../domain/glance.js';
import { html, type SafeHtml } from './html.js';

export interface PageOptions {
  script?: string;
  /** The state the tab shows (title mark and favicon); the page script keeps it current. */
  glance?: Glance;
}

/** `options` as a string is the script alone (the older signature, still taken). */
export function layout(title: string, body: SafeHtml, pageOptions: PageOptions | string = {}): string {
  const options = typeof pageOptions === 'string' ? { script: pageOptions } : pageOptions;
  const glance = options.glance ?? 'idle';
  return html`<!doctype html>
    <html lang="en" data-glance="${glance}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${glanceTitle(glance, title)}</title>
        <link rel="icon" href="${faviconHref(glance)}" data-glance="${glance}" />
        <link rel="stylesheet" href="/monitor/assets/monitor.css" />
      </head>
      <body>
        <header><a href="/monitor">Zero-OS Autobuilder</a></header>
        <main>${body}</main>
        ${options.script ? html`<script type="module" src="/monitor/assets/${options.script}"></script>` : ''}
      </body>
    </html>`.value;
}
