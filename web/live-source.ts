/**
 * An EventSource that is opened again after the server refused it. EventSource reconnects by
 * itself after a dropped connection, but gives up for good on any answer other than 200 (a 503
 * when the service's watcher caps are reached): then this waits about the server's Retry-After
 * (10 s, with jitter so refused pages do not come back all at once) and opens a new one.
 */
const RETRY_MS = 10_000;

export function openLive(url: () => string, setup: (source: EventSource) => void): void {
  const open = () => {
    const source = new EventSource(url());
    setup(source);
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(open, RETRY_MS * (0.5 + Math.random()));
    });
  };
  open();
}
