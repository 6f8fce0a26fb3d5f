/** Runs bench/http-load.ts in a worker thread and returns its figures. */
import { Worker } from 'node:worker_threads';

export interface LoadRequest {
  url: string;
  concurrency: number;
  requests: number;
  /** Numbering of the pushes' delivery ids and commits. */
  offset: number;
  /** Set: signed push webhooks. Unset: plain GETs. */
  secret?: string;
  /**
   * A new TCP connection per request (`Connection: close`), as GitHub's deliveries arrive;
   * otherwise fetch's keep-alive pool.
   */
  newConnection?: boolean;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export function runLoad(request: LoadRequest): Promise<LoadResult> {
  const script = new URL('./http-load.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); });`,
    { eval: true, workerData: request },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
