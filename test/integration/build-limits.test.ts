/**
 * The build boundary on a real Docker engine: limits are on by default and per rule, a fork bomb
 * stays inside its build, a log flood fails only its build (at the cap, or when the logs disk is
 * full), the log keeps the order the step printed in, and a cut attach stream is an engine error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { BUILD_LABEL, INSTANCE_LABEL } from '../../src/executor/executor.js';
import { CuttingDocker } from '../helpers/cutting-docker.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  removeHome,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';

const INSTANCE = `build-limits-${process.pid}`;
const CUT_MARKER = 'cut-the-attach-stream-here';
const rule = (steps: string[], extra: Record<string, unknown> = {}) => ({
  image: TEST_IMAGE,
  checkout: '/src',
  network: 'none',
  steps,
  ...extra,
});
const STATUS = "grep -E '^(NoNewPrivs|CapBnd)' /proc/self/status; echo ready; sleep 120";
const NET_RAW_BIT = 1n << 13n;

describe('build limits and logs on a real engine', () => {
  let docker: Docker;
  let cutting: CuttingDocker;
  let h: Harness;

  before(async () => {
    docker = await requireDocker();
    cutting = new CuttingDocker(CUT_MARKER);
    h = await startHarness({
      executor: new DockerExecutor(cutting, INSTANCE),
      repositories: {
        'acme/limits': rule([STATUS], { timeout: '3m' }),
        'acme/raised': rule([STATUS], {
          timeout: '3m',
          memory: '256m',
          pids_limit: 128,
          cap_add: ['net_raw'],
        }),
        'acme/bomb': rule(['echo bomb; f(){ f|f& }; f; exec sleep 600'], {
          timeout: '10s',
          pids_limit: 64,
          log_max_size: '1m',
        }),
        'acme/flood': rule(['yes a-line-of-flood-output | head -c 5000000', 'echo not reached'], {
          log_max_size: '64k',
        }),
        'acme/order': rule(['i=1; while [ $i -le 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done']),
        'acme/cut': rule([`echo ${CUT_MARKER}; sleep 60; echo step-finished`], { timeout: '3m' }),
      },
    });
    await h.listen();
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
  });

  async function start(repository: string): Promise<Build> {
    const repo = new LocalRepo(h.gitRoot, repository);
    const sha = repo.commit('master', { README: `${repository}\n` });
    return enqueuePush(h, repository, 'master', sha);
  }

  const logOf = (build: Build) => readFileSync(build.logPath!, 'utf8');

  /** The running container of build `id`, found by this service's instance and the build label. */
  async function containerOf(id: number): Promise<Docker.ContainerInspectInfo> {
    const [found] = await waitFor(async () => {
      const list = await docker.listContainers({
        filters: { label: [`${INSTANCE_LABEL}=${INSTANCE}`, `${BUILD_LABEL}=${id}`] },
      });
      return list.length > 0 ? list : undefined;
    }, 60_000);
    return docker.getContainer(found!.Id).inspect();
  }

  async function waitForLog(id: number, pattern: RegExp): Promise<string> {
    return waitFor(async () => {
      const build = await h.service.store.getBuild(id);
      const text = build?.logPath ? readFileSync(build.logPath, 'utf8') : '';
      return pattern.test(text) ? text : undefined;
    }, 60_000);
  }

  function assertNoContainerOf(id: number) {
    const left = execFileSync(
      'docker',
      [
        'ps',
        '-aq',
        '--filter',
        `label=${INSTANCE_LABEL}=${INSTANCE}`,
        '--filter',
        `label=${BUILD_LABEL}=${id}`,
      ],
      { encoding: 'utf8' },
    ).trim();
    assert.equal(left, '', `container of build #${id} left`);
  }

  const capBnd = (log: string) => BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(log)?.[1] ?? '0'}`);

  it('limits are on by default: pids, memory, no-new-privileges, dropped capabilities', async () => {
    const build = await start('acme/limits');
    const log = await waitForLog(build.id, /^ready$/m);
    const info = await containerOf(build.id);
    assert.equal(info.HostConfig.PidsLimit, 4096);
    assert.equal(info.HostConfig.Memory, 4 * 1024 ** 3);
    assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
    for (const cap of ['AUDIT_WRITE', 'NET_RAW', 'NET_BIND_SERVICE', 'SETFCAP', 'SETPCAP'])
      assert.ok(info.HostConfig.CapDrop?.includes(cap), `${cap} dropped: ${info.HostConfig.CapDrop}`);
    assert.match(log, /^NoNewPrivs:\s*1$/m, 'the kernel sees no-new-privileges in the step');
    assert.equal(capBnd(log) & NET_RAW_BIT, 0n, 'NET_RAW is not in the bounding set of the step');
    assert.notEqual(capBnd(log), 0n);
    await h.service.scheduler.cancel(build.id);
    assertNoContainerOf(build.id);
  });

  it('a rule raises them: memory, pids_limit, cap_add', async () => {
    const build = await start('acme/raised');
    const log = await waitForLog(build.id, /^ready$/m);
    const info = await containerOf(build.id);
    assert.equal(info.HostConfig.PidsLimit, 128);
    assert.equal(info.HostConfig.Memory, 256 * 1024 ** 2);
    assert.deepEqual(info.HostConfig.CapAdd, ['NET_RAW']);
    assert.ok(!info.HostConfig.CapDrop?.includes('NET_RAW'));
    assert.equal(capBnd(log) & NET_RAW_BIT, NET_RAW_BIT, 'NET_RAW is back for this rule');
    await h.service.scheduler.cancel(build.id);
  });

  it('a fork bomb is contained: pids limit, the build ends, the service answers', async () => {
    const build = await start('acme/bomb');
    // The bomb keeps forking in the background while the step waits: forks beyond the limit fail.
    await waitForLog(build.id, /can't fork/);
    const info = await containerOf(build.id);
    assert.equal(info.HostConfig.PidsLimit, 64);
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200, 'the service answers while the bomb runs');
    const done = await waitForFinal(h, build.id, 120_000);
    assert.equal(done.state, 'failed');
    assert.match(done.reason ?? '', /^(timeout after 10s|log limit exceeded \(1 MiB\))$/);
    assertNoContainerOf(build.id);
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
  });

  it('a log flood past log_max_size fails the build; the log ends with the marker', async () => {
    const build = await waitForFinal(h, (await start('acme/flood')).id, 120_000);
    assert.equal(build.state, 'failed');
    assert.equal(build.reason, 'log limit exceeded (64 KiB)');
    const size = statSync(build.logPath!).size;
    assert.ok(size <= 64 * 1024 + 100, `log is ${size} bytes`);
    const lines = logOf(build).trimEnd().split('\n');
    assert.equal(
      lines.at(-1),
      '==> log limit exceeded (64 KiB): the build is stopped, later output is not kept',
    );
    assert.ok(!logOf(build).includes('not reached'));
    assertNoContainerOf(build.id);
  });

  it('600 alternating stdout/stderr lines are stored in the order the step printed them', async () => {
    const build = await waitForFinal(h, (await start('acme/order')).id, 120_000);
    assert.equal(build.state, 'success', build.reason ?? '');
    const lines = logOf(build).split('\n');
    const first = lines.findIndex((line) => line.startsWith('==> step 1/1'));
    const expected = Array.from({ length: 300 }, (_, i) => [`out-${i + 1}`, `err-${i + 1}`]).flat();
    assert.deepEqual(lines.slice(first + 1, first + 601), expected);
    assert.equal(lines[first + 601], '==> success');
  });

  it('an attach stream cut mid-step is a build engine error, not the step exit code', async () => {
    const build = await waitForFinal(h, (await start('acme/cut')).id, 120_000);
    assert.equal(cutting.cuts, 1, 'the stream was cut');
    assert.equal(build.state, 'failed');
    assert.match(build.reason ?? '', /^build engine error: /);
    assert.doesNotMatch(build.reason ?? '', /137/);
    assertNoContainerOf(build.id);
  });
});

describe('a full logs disk fails the build, not the service', () => {
  let h: Harness;
  let logs: string;

  before(async () => {
    await requireDocker();
    logs = mkdtempSync(join(tmpdir(), 'ab-small-logs-'));
    mkdirSync(logs, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', logs]);
    h = await startHarness({
      executor: new DockerExecutor(undefined, INSTANCE),
      extra: { logs_directory: logs },
      repositories: {
        'acme/flood': rule(['yes a-line-of-flood-output | head -c 4000000']),
        'acme/hello': rule(['echo hello from the next build']),
      },
    });
    await h.listen();
  });

  after(async () => {
    await h?.close();
    if (logs) {
      // Lazily if a file is still open there, so a failing run leaves no mount behind.
      execFileSync('umount', ['--lazy', logs]);
      rmSync(logs, { recursive: true, force: true });
    }
    if (h) removeHome(h);
  });

  it('fails that build with "log write failed", keeps serving, and the next build succeeds', async () => {
    const flood = new LocalRepo(h.gitRoot, 'acme/flood');
    const floodBuild = await enqueuePush(h, 'acme/flood', 'master', flood.commit('master', { a: '1' }));
    const failed = await waitForFinal(h, floodBuild.id, 120_000);
    assert.equal(failed.state, 'failed');
    assert.match(failed.reason ?? '', /^log write failed: ENOSPC/);
    assert.equal((await fetch(`${h.url}/healthz`)).status, 200);

    rmSync(failed.logPath!);
    const hello = new LocalRepo(h.gitRoot, 'acme/hello');
    const next = await enqueuePush(h, 'acme/hello', 'master', hello.commit('master', { a: '1' }));
    const done = await waitForFinal(h, next.id, 120_000);
    assert.equal(done.state, 'success', done.reason ?? '');
    assert.match(readFileSync(done.logPath!, 'utf8'), /^hello from the next build$/m);
  });
});
