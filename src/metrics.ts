/** Prometheus metrics (prom-client), fed by build events and the HTTP layer; served at /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isFinal, type Build } from './domain/build.js';
import type { EngineStatus } from './executor/engine.js';

export class Metrics {
  readonly registry = new Registry();
  readonly builds = new Counter({
    name: 'autobuilder_builds_total',
    help: 'Finished builds by repository and final state',
    labelNames: ['repository', 'state'] as const,
    registers: [this.registry],
  });
  readonly buildDuration = new Histogram({
    name: 'autobuilder_build_duration_seconds',
    help: 'Wall time of finished builds, from start to end',
    labelNames: ['repository', 'state'] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'autobuilder_step_duration_seconds',
    help: 'Wall time of build steps',
    labelNames: ['repository', 'step'] as const,
    buckets: [1, 5, 15, 30, 60, 300, 900, 1800, 3600],
    registers: [this.registry],
  });
  readonly bootDuration = new Histogram({
    name: 'autobuilder_boot_seconds',
    help: 'Wall time of boot tests under QEMU, by whether the marker came (booted) or not (failed)',
    labelNames: ['repository', 'outcome'] as const,
    buckets: [1, 2.5, 5, 7.5, 10, 15, 30, 60, 120, 180, 300, 600],
    registers: [this.registry],
  });
  readonly webhookDuration = new Histogram({
    name: 'autobuilder_webhook_duration_seconds',
    help: 'Time to answer webhook requests, by status code',
    labelNames: ['status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly engineErrors = new Counter({
    name: 'autobuilder_engine_errors_total',
    help: 'Builds that failed because the build engine (Docker) failed under them',
    registers: [this.registry],
  });
  readonly statusFailures = new Counter({
    name: 'autobuilder_github_status_failures_total',
    help: 'Commit status calls to GitHub that failed after retries',
    registers: [this.registry],
  });

  readonly streamWatchers = new Gauge({
    name: 'autobuilder_stream_watchers',
    help: 'Live streams (SSE) open now: /api/events and log streams',
    registers: [this.registry],
  });
  readonly streamsDropped = new Counter({
    name: 'autobuilder_stream_watchers_dropped_total',
    help: 'Live streams cut because the client left too much unread (streams.max_unread)',
    registers: [this.registry],
  });
  readonly streamsRefused = new Counter({
    name: 'autobuilder_stream_watchers_refused_total',
    help: 'Live streams refused with 503 because a watcher cap was reached',
    registers: [this.registry],
  });

  readonly buildsPerEngine = new Counter({
    name: 'autobuilder_engine_builds_total',
    help: 'Finished builds by the engine they ran on and final state',
    labelNames: ['engine', 'state'] as const,
    registers: [this.registry],
  });
  readonly imageTransfer = new Histogram({
    name: 'autobuilder_image_transfer_seconds',
    help: 'Image pulls from and pushes to the registry',
    labelNames: ['kind'] as const,
    buckets: [0.5, 1, 5, 15, 30, 60, 300, 900],
    registers: [this.registry],
  });

  /** `autobuilder_engine_up{engine}`: 1 while the engine answers, 0 while it is marked down. */
  watchEngines(statuses: () => EngineStatus[]): void {
    new Gauge({
      name: 'autobuilder_engine_up',
      help: 'Whether each build engine is up (1) or marked down (0)',
      labelNames: ['engine'] as const,
      registers: [this.registry],
      collect() {
        for (const engine of statuses()) this.set({ engine: engine.name }, engine.up ? 1 : 0);
      },
    });
  }

  constructor(queueDepth: () => Promise<{ queued: number; running: number }>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'autobuilder_' });
    new Gauge({
      name: 'autobuilder_queue_depth',
      help: 'Builds queued and running now',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const depth = await queueDepth();
        this.set({ state: 'queued' }, depth.queued);
        this.set({ state: 'running' }, depth.running);
      },
    });
  }

  /** Called with every build state change. */
  observe(build: Build): void {
    if (!isFinal(build.state)) return;
    this.builds.inc({ repository: build.repository, state: build.state });
    if (build.engine) this.buildsPerEngine.inc({ engine: build.engine, state: build.state });
    if (build.startedAt && build.finishedAt) {
      const seconds = (Date.parse(build.finishedAt) - Date.parse(build.startedAt)) / 1000;
      this.buildDuration.observe({ repository: build.repository, state: build.state }, seconds);
    }
    for (const step of build.steps) {
      if (!step.finishedAt) continue;
      const seconds = (Date.parse(step.finishedAt) - Date.parse(step.startedAt)) / 1000;
      this.stepDuration.observe({ repository: build.repository, step: String(step.index) }, seconds);
    }
    if (build.boot) {
      const outcome = build.boot.ok ? 'booted' : 'failed';
      this.bootDuration.observe({ repository: build.repository, outcome }, build.boot.seconds);
    }
    if (build.cause === 'engine') this.engineErrors.inc();
  }
}
