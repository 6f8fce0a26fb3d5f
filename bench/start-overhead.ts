/**
 * Start overhead: webhook received → first line of the build's first step in the log, against
 * `docker run` of the same image and command from the CLI, measured in the same run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DockerExecutor } from '../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../test/helpers/docker.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { removeHome, startHarness } from '../test/helpers/harness.js';
import { pushPayload, webhookHeaders } from '../test/helpers/webhook.js';
import { timeDockerRun } from './build-timing.js';
import { figure, percentile } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

export async function benchStartOverhead(): Promise<string[]> {
  await requireDocker();
  const h = await startHarness({
    executor: new DockerExecutor(),
    repositories: {
      'bench/start': {
        image: TEST_IMAGE,
        checkout: '/src',
        steps: ['echo first-line-of-step'],
        network: 'none',
        artifact: '/target/none',
      },
    },
  });
  await h.listen();
  const repo = new LocalRepo(h.gitRoot, 'bench/start');
  const service: number[] = [];
  const baseline: number[] = [];
  try {
    for (let i = 0; i < RUNS; i += 1) {
      baseline.push(
        (
          await timeDockerRun(
            ['--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo first-line-of-step'],
            'first-line-of-step',
          )
        ).firstMs,
      );
      const sha = repo.commit('master', { n: String(i) });
      const body = JSON.stringify(pushPayload({ repository: 'bench/start', branch: 'master', commit: sha }));
      const started = performance.now();
      const response = await fetch(`${h.url}/build/bench/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body),
      });
      const { id } = (await response.json()) as { id: number };
      const logPath = `${h.config.logsDirectory}/build-${id}.log`;
      for (;;) {
        if (existsSync(logPath) && readFileSync(logPath, 'utf8').includes('\nfirst-line-of-step\n')) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      service.push(performance.now() - started);
      await h.service.scheduler.idle();
    }
  } finally {
    await h.close();
    removeHome(h);
  }
  return [
    figure(
      'start overhead median (webhook → first step line)',
      percentile(service, 50),
      'ms',
      percentile(baseline, 50),
    ),
    figure('start overhead max', Math.max(...service), 'ms', Math.max(...baseline)),
  ];
}
