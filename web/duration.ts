import { formatElapsed } from '../src/domain/duration.js';

/** Rewrites every `[data-started]` element under `root` with the time since it started. */
export function updateElapsed(root: ParentNode, now = Date.now()): void {
  for (const cell of root.querySelectorAll<HTMLElement>('[data-started]')) {
    const started = Date.parse(cell.dataset.started ?? '');
    if (!Number.isNaN(started)) cell.textContent = formatElapsed(now - started);
  }
}
