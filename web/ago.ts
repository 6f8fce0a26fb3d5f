/** Keeps "5 min ago" current on `<time data-ago>` cells (the absolute time is their title). */
import { ago } from '../src/domain/glance.js';

export function updateAgo(root: ParentNode, now = Date.now()): void {
  for (const cell of root.querySelectorAll<HTMLElement>('time[data-ago]')) {
    const text = ago(cell.dataset.ago ?? '', now);
    if (cell.textContent !== text) cell.textContent = text;
  }
}
