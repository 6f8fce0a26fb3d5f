/**
 * Log latency: a build log growing at a steady 200 lines/s, followed over SSE by 1 and by 50
 * clients on loopback. Each line carries the time it was published; a client notes when it got
 * it. Baseline: a bare node:http server relaying the same lines to the same clients, measured in
 * the same run. Servers run in child processes (bench/log-server.ts) so their RSS is their own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium.js';
import { fail, figure, machine, percentile, writeSection } from './report.js';
import type { RunRequest, ServerKind, ServerMessage } from './log-server.js';

const RATE = 200;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENT_COUNTS = [1, 50];

interface Measurement {
  latencies: number[];
  received: number;
  sent: number;
  rssPeak: number;
}

const now = () => performance.timeOrigin + performance.now();

function nextMessage(child: ChildProcess): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as ServerMessage));
    child.once('exit', (code) => reject(new Error(`log server exited (${code})`)));
  });
}

/** One SSE reader: parses events and records, per line, now minus the time in the line. */
function connect(url: string, latencies: number[], counted: { lines: number }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (response) => {
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          for (const line of (JSON.parse(data.slice(6)) as { text: string }).text.split('\n')) {
            const match = /^tick \d+ ([\d.]+)$/.exec(line);
            if (!match) continue;
            latencies.push(at - Number(match[1]));
            counted.lines++;
          }
        }
      });
      resolve(response);
    });
    request.on('error', reject);
  });
}

/**
 * The same stream in a real headless Chromium: the build page of the running build, where a
 * MutationObserver notes when each line lands in the log element.
 */
async function measureBrowser(): Promise<Measurement> {
  const child = fork(new URL('./log-server.ts', import.meta.url).pathname, ['service'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const ready = await nextMessage(child);
    if (ready.type !== 'ready') throw new Error(`unexpected ${ready.type}`);
    const page = await browser.newPage();
    await page.addInitScript(() => {
      const arrivals: number[] = [];
      // A line is counted once: a new step section and the lines put into it in the same task
      // are both added nodes, and the section's text holds those lines too.
      const seen = new Set<string>();
      (window as unknown as { arrivals: number[] }).arrivals = arrivals;
      new MutationObserver((mutations) => {
        const at = performance.timeOrigin + performance.now();
        for (const mutation of mutations) {
          for (const node of mutation.addedNodes) {
            for (const match of (node.textContent ?? '').matchAll(/tick (\d+) ([\d.]+)/g)) {
              if (seen.has(match[1]!)) continue;
              seen.add(match[1]!);
              arrivals.push(at - Number(match[2]));
            }
          }
        }
      }).observe(document, { childList: true, subtree: true, characterData: true });
    });
    await page.goto(ready.url.replace(/\/api\/builds\/(\d+)\/log\/stream.*$/, '/monitor/builds/$1'));
    await page.waitForSelector('#log');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const done = nextMessage(child);
    child.send({ type: 'run', seconds: SECONDS, rate: RATE } satisfies RunRequest);
    const result = await done;
    if (result.type !== 'done') throw new Error(`unexpected ${result.type}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const latencies = await page.evaluate(() => (window as unknown as { arrivals: number[] }).arrivals);
    return { latencies, received: latencies.length, sent: result.lines, rssPeak: result.rssPeak };
  } finally {
    await browser.close();
    child.send({ type: 'exit' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function measure(kind: ServerKind, clients: number): Promise<Measurement> {
  const child = fork(new URL('./log-server.ts', import.meta.url).pathname, [kind], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await nextMessage(child);
    if (ready.type !== 'ready') throw new Error(`unexpected ${ready.type}`);
    const latencies: number[] = [];
    const counted = { lines: 0 };
    const responses = await Promise.all(
      Array.from({ length: clients }, () => connect(ready.url, latencies, counted)),
    );
    // Let every stream finish its catch-up read of the (empty) log before lines start.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const done = nextMessage(child);
    child.send({ type: 'run', seconds: SECONDS, rate: RATE } satisfies RunRequest);
    const result = await done;
    if (result.type !== 'done') throw new Error(`unexpected ${result.type}`);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last lines in flight
    for (const response of responses) response.destroy();
    return { latencies, received: counted.lines, sent: result.lines * clients, rssPeak: result.rssPeak };
  } finally {
    child.send({ type: 'exit' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

export async function benchLogLatency(): Promise<string[]> {
  const lines: string[] = [];
  let nodeClient: Measurement | undefined;
  for (const clients of CLIENT_COUNTS) {
    const baseline = await measure('bare', clients);
    const service = await measure('service', clients);
    for (const [name, m] of [
      ['service', service],
      ['baseline', baseline],
    ] as const) {
      if (m.received !== m.sent)
        fail(`${name} with ${clients} clients: ${m.received} of ${m.sent} lines arrived`);
    }
    const label = `log ${RATE} lines/s, ${clients} client${clients === 1 ? '' : 's'}`;
    for (const p of [50, 99]) {
      const value = percentile(service.latencies, p);
      lines.push(figure(`${label} p${p} latency`, value, 'ms', percentile(baseline.latencies, p)));
    }
    lines.push(figure(`${label} server RSS`, service.rssPeak / 2 ** 20, 'MB', baseline.rssPeak / 2 ** 20));
    if (clients === 1) nodeClient = service;
  }
  // Baseline for the browser: the Node SSE client on the same service, measured above.
  const browser = await measureBrowser();
  if (browser.received !== browser.sent)
    fail(`browser: ${browser.received} of ${browser.sent} lines arrived`);
  for (const p of [50, 99]) {
    const value = percentile(browser.latencies, p);
    lines.push(
      figure(
        `log ${RATE} lines/s, Chromium build page p${p} latency`,
        value,
        'ms',
        percentile(nodeClient!.latencies, p),
      ),
    );
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Other work on this machine shows in the tails (p99) first; the load says how quiet it was.
  const load = loadavg()[0]!.toFixed(2);
  const lines = await benchLogLatency();
  writeSection(
    'Log latency',
    `${machine()}, load average ${load} at the start; ${RATE} lines/s for ${SECONDS} s per run, each line from BuildLog.line() (file write + bus) ` +
      `to a client's socket over /api/builds/:id/log/stream on loopback; latency is publish to receive, ` +
      `RSS the server process's peak. Baseline: a bare node:http server relaying the same lines as SSE.\n\n` +
      `\`\`\`\n${lines.join('\n')}\n\`\`\``,
  );
}
