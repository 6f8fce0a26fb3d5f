/** `npm run bench`: every benchmark, one summary line per figure, results into docs/benchmarks.md. */
import { benchBootTest } from './boot-test.js';
import { benchBuildCache } from './build-cache.js';
import { benchEngines } from './engines-spread.js';
import { benchIncremental } from './incremental-payoff.js';
import { benchLogLatency } from './log-latency.js';
import { benchLogPipeline } from './log-pipeline.js';
import { benchLogWriter } from './log-writer.js';
import { loadavg } from 'node:os';
import { machine, writeSection } from './report.js';
import { benchQueueFlood } from './queue-flood.js';
import { benchReplicas } from './replicas-throughput.js';
import { benchScaleOfState } from './scale-of-state.js';
import { benchStartOverhead } from './start-overhead.js';
import { benchWebhook } from './webhook-ack.js';

const only = process.argv[2];
const benchmarks: [string, string, () => Promise<string[]>][] = [
  ['webhook', 'Webhook acknowledgement', benchWebhook],
  ['start', 'Start overhead', benchStartOverhead],
  ['log', 'Log pipeline', benchLogPipeline],
  ['logwriter', 'Log writer', benchLogWriter],
  ['latency', 'Log latency', benchLogLatency],
  ['incremental', 'Incremental payoff', benchIncremental],
  ['state', 'Scale of state', benchScaleOfState],
  ['flood', 'Queue flood', benchQueueFlood],
  ['boot', 'Boot test', benchBootTest],
  ['engines', 'Builds over two engines', benchEngines],
  ['cache', 'Build caches', benchBuildCache],
  ['replicas', 'Replicas', benchReplicas],
];

for (const [key, title, run] of benchmarks) {
  if (only && only !== key) continue;
  process.stdout.write(`\n# ${title}\n`);
  const load = loadavg()[0]!.toFixed(2);
  const lines = await run();
  writeSection(
    title,
    `${machine()}, load average ${load} at the start\n\n\`\`\`\n${lines.join('\n')}\n\`\`\``,
  );
}
