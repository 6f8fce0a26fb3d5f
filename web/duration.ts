/** Elapsed time as the server renders it (`42s`, `3m07s`), so a live update does not change the look. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
    : `${seconds}s`;
}

/** Rewrites every `[data-started]` element under `root` with the time since it started. */
export function updateElapsed(root: ParentNode, now = Date.now()): void {
  for (const cell of root.querySelectorAll<HTMLElement>('[data-started]')) {
    const started = Date.parse(cell.dataset.started ?? '');
    if (!Number.isNaN(started)) cell.textContent = formatElapsed(now - started);
  }
}
