/**
 * The writer thread's side (writer-thread.ts): its own connection to the database file, on which
 * `createBuild` runs as it would on the service's (group commit, WAL fsync, checkpoints between
 * groups), answering each call with rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import { toWriterError, type WriterReply, type WriterRequest } from './writer-thread.js';

const port = parentPort!;
const post = (reply: WriterReply) => port.postMessage(reply);

let store: SqliteStore;
try {
  store = await SqliteStore.openWriter((workerData as { path: string }).path);
} catch (error) {
  post({ type: 'failed', message: String((error as Error)?.message ?? error) });
  process.exit(1);
}

let inFlight = 0;
let drained: (() => void) | null = null;
let results: Extract<WriterReply, { type: 'results' }>['results'] = [];

/** A group's calls settle together: their answers go back as one message. */
function answer(result: (typeof results)[number]): void {
  if (results.length === 0)
    setImmediate(() => {
      const sent = results;
      results = [];
      post({ type: 'results', results: sent });
      if (inFlight === 0) drained?.();
    });
  results.push(result);
}

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    (async () => {
      if (inFlight > 0 || results.length > 0) await new Promise<void>((resolve) => (drained = resolve));
      await store.close();
      port.close();
    })().catch(() => process.exit(1)); // ends this thread: the service sees it exit either way
    return;
  }
  if (request.type === 'checkpoint') {
    try {
      post({ type: 'checkpointed', id: request.id, result: store.checkpointHere() });
    } catch (error) {
      post({ type: 'checkpointed', id: request.id, error: toWriterError(error) });
    }
    return;
  }
  for (const { id, input, limits } of request.items) {
    inFlight += 1;
    void store.createBuildRows(input, limits).then(
      (rows) => {
        inFlight -= 1;
        // The service has the push's own list: the new row's copy need not cross back.
        answer({ id, rows: rows.created ? { ...rows, row: { ...rows.row, commits: '' } } : rows });
      },
      (error: unknown) => {
        inFlight -= 1;
        answer({ id, error: toWriterError(error) });
      },
    );
  }
});
post({ type: 'ready' });
