/** Keeps the tab's title mark and favicon on the state the page shows (src/domain/glance.ts). */
import { faviconHref, glanceTitle, type Glance } from '../src/domain/glance.js';

export function showGlance(glance: Glance, title: string): void {
  document.title = glanceTitle(glance, title);
  const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (icon && icon.dataset.glance !== glance) {
    icon.href = faviconHref(glance);
    icon.dataset.glance = glance;
  }
  document.documentElement.dataset.glance = glance;
}
