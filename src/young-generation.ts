/**
 * V8's young generation held at its initial size (1 MB a semi-space) while the service starts.
 * Loading and setting up the service (modules, schemas, the database) leaves objects that live
 * for ever; surviving the young generation's collections, they make V8 grow it to its maximum
 * (16 MB a semi-space, 32 MB reserved) in the first second. An idle service then kept ~20 MB of
 * young generation it did not use, and a build's log, whose socket chunks are garbage the young
 * collections free, had them collected only every ~16 MB of JavaScript allocation: up to ~40 MB
 * of spent chunks piled up (docs/benchmarks.md, "Log pipeline: memory"). Once the service
 * listens, V8's own growth is back on: request load grows it as before (a small one costs the
 * webhook path throughput), a log's stream barely does.
 *
 * Node sets V8's maximum only from its command line (`--max-semi-space-size`), which a user
 * would have to pass; the growth factor is read by V8 whenever it grows the space, so it can be
 * set from here. V8 resets it to its default (2) whenever an isolate is made, as for each worker
 * thread: the hold is put back when one comes online.
 */
import process from 'node:process';
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

/** V8's default: each growth doubles the semi-space. */
const DEFAULT_GROWTH = 2;

let held = false;

const setGrowth = (factor: number) => v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);

process.on('worker', (worker: Worker) =>
  worker.once('online', () => {
    if (held) setGrowth(1);
  }),
);

/** No growth from now on, until `releaseYoungGeneration()`. */
export function holdYoungGeneration(): void {
  held = true;
  setGrowth(1);
}

/** V8 grows the young generation as it sees fit again. */
export function releaseYoungGeneration(): void {
  held = false;
  setGrowth(DEFAULT_GROWTH);
}
