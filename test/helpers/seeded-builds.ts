/**
 * Builds for the monitor's browser tests: finished builds seeded as the scheduler leaves them
 * (store record, step records, log file or none when pruned), and a service whose repositories
 * the fake executor runs (one succeeds, one fails after a pause).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildState, StepRecord } from '../../src/domain/build.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { newBuild } from '../unit/store.contract.js';
import { startHarness, type Harness } from './harness.js';
import { fakeRule } from './fake-rule.js';

export const OK = 'owner/name';
export const FAILS = 'owner/fails';
export const RED = '\x1b[31mred text\x1b[0m plain \x1b[1;32mbold green\x1b[0m';

/** 12,000 lines in two steps; line 100 is a needle the page no longer holds (it keeps 5,000). */
export function longLog(id: number): string {
  const lines = [
    `==> build #${id}: ${OK} branch seed-long at ${'a'.repeat(40)}`,
    '==> step 1/2: make all',
    RED,
  ];
  while (lines.length < 99) lines.push(`compile ${lines.length + 1}`);
  lines.push('needle: the one at line 100');
  while (lines.length < 6000) lines.push(`compile ${lines.length + 1}`);
  lines.push('==> step 2/2: make install');
  while (lines.length < 11_999) lines.push(`install ${lines.length + 1}`);
  lines.push('==> success');
  return lines.join('\n') + '\n';
}

/** 303 lines; step 2 fails, its error in its last lines. */
export function failedLog(id: number): string {
  const lines = [
    `==> build #${id}: ${OK} branch seed-failed at ${'a'.repeat(40)}`,
    '==> step 1/2: ./configure',
  ];
  while (lines.length < 150) lines.push(`checking feature ${lines.length + 1}`);
  lines.push('==> step 2/2: make');
  while (lines.length < 300) lines.push(`cc file${lines.length + 1}.c`);
  lines.push("src/main.c:12: error: undefined reference to 'foo'", 'make: *** [all] Error 2');
  lines.push('==> failed: step 2 (make) exited with code 2');
  return lines.join('\n') + '\n';
}

export const step = (index: number, command: string, exitCode: number): StepRecord => ({
  index,
  command,
  startedAt: '2026-01-01T10:00:00.000Z',
  finishedAt: '2026-01-01T10:01:05.000Z',
  exitCode,
});

/** A service with OK (two quick steps, publishes) and FAILS (a slow step, then exit 2). */
export async function monitorHarness(): Promise<Harness> {
  const harness = await startHarness({
    executor: new FakeExecutor(),
    repositories: {
      [OK]: fakeRule(['echo built', 'echo k > /target/vmlinuz.efi']),
      [FAILS]: fakeRule([
        'echo compiling && sleep 1.5',
        "echo error: undefined reference to 'bar' && exit 2",
      ]),
    },
  });
  await harness.listen();
  mkdirSync(join(harness.home, 'logs'), { recursive: true });
  return harness;
}

/** A finished build of OK as the scheduler leaves it: record, steps, log file (or none: pruned). */
export async function seedBuild(
  harness: Harness,
  branch: string,
  state: BuildState,
  options: { log?: (id: number) => string; steps?: StepRecord[]; reason?: string } = {},
): Promise<number> {
  const { store } = harness.service;
  const { build } = await store.createBuild(newBuild({ repository: OK, branch, project: 't' }));
  const logPath = join(harness.home, 'logs', `build-${build.id}.log`);
  if (options.log) writeFileSync(logPath, options.log(build.id));
  await store.transition(build.id, ['queued'], 'running', { startedAt: '2026-01-01T10:00:00.000Z', logPath });
  await store.transition(build.id, ['running'], state, {
    finishedAt: '2026-01-01T10:02:00.000Z',
    steps: options.steps ?? [],
    reason: options.reason ?? null,
    ...(options.log ? {} : { logPath: null }),
  });
  return build.id;
}

export interface Seeded {
  /** 12,000 lines, success. */
  long: number;
  /** 303 lines, step 2 failed. */
  failed: number;
  /** Success, its log removed by retention. */
  pruned: number;
  /** Three lines, one of them coloured. */
  colour: number;
}

/** The seeded builds, made while the queue is paused (the scheduler must not take them). */
export async function seedAll(harness: Harness): Promise<Seeded> {
  harness.service.scheduler.pause();
  const seeded: Seeded = {
    long: await seedBuild(harness, 'seed-long', 'success', {
      log: longLog,
      steps: [step(1, 'make all', 0), step(2, 'make install', 0)],
    }),
    failed: await seedBuild(harness, 'seed-failed', 'failed', {
      log: failedLog,
      steps: [step(1, './configure', 0), step(2, 'make', 2)],
      reason: 'step 2 (make) exited with code 2',
    }),
    pruned: await seedBuild(harness, 'seed-pruned', 'success'),
    colour: await seedBuild(harness, 'seed-colour', 'success', {
      log: (id) => `==> build #${id}: x\n==> step 1/1: make\n${RED}\n`,
      steps: [step(1, 'make', 0)],
    }),
  };
  harness.service.scheduler.resume();
  return seeded;
}
