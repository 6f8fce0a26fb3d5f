/**
 * Watchers of the service's live streams over real loopback HTTP: one in this thread
 * (`watch`), a reader that never reads (`stalledWatcher`), and hundreds in a worker thread
 * (`watchInWorker`) so that their reading does not compete with the service's event loop.
 */
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface Watch {
  status: number;
  headers: IncomingMessage['headers'];
  /** Everything received so far (the 503 body, or the stream). */
  text: string;
  /** Number of `event: <name>` frames received so far. */
  count(event: string): number;
  close(): void;
  closed: Promise<void>;
}

/** Opens `path` and resolves once the answer's headers came. */
export function watch(url: string, path: string, localAddress?: string): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { localAddress, agent: false }, (response) => {
      response.setEncoding('utf8');
      const w: Watch = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        text: '',
        count: (event) => w.text.split(`event: ${event}\n`).length - 1,
        close: () => req.destroy(),
        closed: new Promise((done) => response.on('close', done)),
      };
      response.on('data', (chunk: string) => (w.text += chunk));
      response.on('error', () => undefined);
      resolve(w);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that asks for `path` and then never reads: its socket fills up. */
export function stalledWatcher(url: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, count, markers } = workerData;
const longest = Math.max(...markers.map((m) => m.length));
let connected = 0;
let received = 0;
const requests = [];
for (let i = 0; i < count; i++) {
  const req = http.get(url, { agent: false }, (res) => {
    if (res.statusCode !== 200) return parentPort.postMessage({ error: 'status ' + res.statusCode });
    if (++connected === count) parentPort.postMessage({ connected });
    const seen = new Set();
    let carry = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      if (seen.size === markers.length) return;
      const text = carry + chunk;
      for (const marker of markers) if (text.includes(marker)) seen.add(marker);
      carry = text.slice(-longest);
      if (seen.size === markers.length) parentPort.postMessage({ received: ++received });
    });
  });
  req.on('error', (error) => parentPort.postMessage({ error: error.message }));
  requests.push(req);
}
parentPort.on('message', () => {
  for (const req of requests) req.destroy();
  parentPort.close();
});
`;

export interface WorkerWatchers {
  /** Resolves when all `count` streams are open. */
  connected: Promise<void>;
  /** Resolves when every stream has received every marker. */
  received: Promise<void>;
  close(): Promise<void>;
}

/** `count` watchers of `url` in a worker thread, each waiting for all of `markers` in its stream. */
export function watchInWorker(url: string, count: number, markers: string[]): WorkerWatchers {
  const worker = new Worker(WORKER, { eval: true, workerData: { url, count, markers } });
  let fail: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const on = (key: 'connected' | 'received') =>
    Promise.race([
      failed,
      new Promise<void>((resolve) =>
        worker.on('message', (message: Record<string, unknown>) => {
          if (message[key] === count) resolve();
        }),
      ),
    ]);
  worker.on('message', (message: { error?: string }) => {
    if (message.error) fail(new Error(`a watcher failed: ${message.error}`));
  });
  worker.on('error', (error) => fail(error));
  return {
    connected: on('connected'),
    received: on('received'),
    async close() {
      worker.postMessage('close');
      await worker.terminate();
    },
  };
}
