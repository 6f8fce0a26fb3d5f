/**
 * Builds spread over two real Docker engines (the local one and a second dockerd), images shared
 * through a real registry (Debian's docker-registry on loopback). Nothing is mocked.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { Build } from '../../src/domain/build.js';
import { serviceInstance } from '../../src/config/service-instance.js';
import { dockerFor } from '../../src/executor/docker/engine-connection.js';
import { RegistryClient } from '../../src/executor/registry/registry-client.js';
import { removeImages, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  closeHarnesses,
  removeHome,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { watch } from '../helpers/sse-watch.js';
import { secondEngine, type SecondEngine } from '../helpers/second-engine.js';

const engine2 = secondEngine();
const IMAGE_REPO = `autobuilder-engines-${process.pid}/initramfs`;
// Not fakeRule(): the real engines' busybox image (fakeRule names the fake executor's image).
const rule = (steps: string[]) => ({ image: TEST_IMAGE, checkout: '/src', network: 'none', steps });

describe(
  'builds over two engines and a registry',
  { skip: typeof engine2 === 'string' ? engine2 : false },
  () => {
    const e2 = engine2 as SecondEngine;
    let local: Docker;
    let h: Harness;
    const repos = new Map<string, LocalRepo>();

    const commit = (repository: string, branch: string, files: Record<string, string> = {}) => {
      if (!repos.has(repository)) repos.set(repository, new LocalRepo(h.gitRoot, repository));
      return repos.get(repository)!.commit(branch, { 'x.txt': `${branch} ${Math.random()}`, ...files });
    };
    const push = async (repository: string, branch: string, files?: Record<string, string>) =>
      enqueuePush(h, repository, branch, commit(repository, branch, files));
    const log = (build: Build) => readFileSync(build.logPath!, 'utf8');
    const listen = async () => h.url || (await h.listen());
    const qualified = () => `${e2.registry}/${IMAGE_REPO}:master`;

    before(async () => {
      local = await requireDocker();
      h = await startHarness({
        concurrency: 2,
        extra: {
          engines: [
            { name: 'one', url: 'unix:///var/run/docker.sock', capacity: 1 },
            { name: 'two', url: e2.url, capacity: 1 },
          ],
          registry: e2.registry,
        },
        repositories: {
          'scale/a': rule(['sleep 1']),
          'scale/b': rule(['sleep 1']),
          'scale/c': rule(['sleep 1']),
          'scale/blocker': rule(['echo blocking; sleep 120']),
          'scale/slow': rule(['echo started', 'sleep 15; echo done']),
          'scale/initramfs': {
            ...rule(['mkdir -p /opt/zero-os && echo "state-from-$AUTOBUILD_COMMIT" > /opt/zero-os/state']),
            commit: `${IMAGE_REPO}:{branch}`,
          },
          'scale/core0': {
            base: 'scale/initramfs',
            checkout: '/core0',
            network: 'none',
            steps: ['echo "core0 on top of: $(cat /opt/zero-os/state)"'],
          },
        },
      });
    });

    after(async () => {
      await h?.close();
      if (h) removeHome(h);
      for (const docker of [local, e2.docker])
        if (docker) await removeImages(docker, `${e2.registry}/${IMAGE_REPO}`).catch(() => undefined);
      await new RegistryClient(e2.registry).deleteTag(IMAGE_REPO, 'master').catch(() => undefined);
      // Older copies pulled over on the second engine (it is the tests' own) are left untagged.
      await e2.docker.pruneImages({ filters: { dangling: ['true'] } }).catch(() => undefined);
    });

    /** Occupies engine `one` (both idle and holding the test image: the first listed is chosen). */
    async function block(): Promise<Build> {
      const blocker = await push('scale/blocker', `b${Date.now()}`);
      const running = await waitFor(async () => {
        const b = await h.service.store.getBuild(blocker.id);
        return b?.state === 'running' && b.steps.length > 0 ? b : undefined;
      });
      assert.equal(running.engine, 'one');
      return running;
    }

    it('12 pushes over 3 repositories with both engines at capacity 1: each build once, both engines used', async () => {
      const started = Date.now();
      const builds: Build[] = [];
      for (const branch of ['m1', 'm2', 'm3', 'm4'])
        for (const repository of ['scale/a', 'scale/b', 'scale/c'])
          builds.push(await push(repository, branch));
      const done = await Promise.all(builds.map((b) => waitForFinal(h, b.id, 120_000)));
      const wall = Date.now() - started;
      assert.deepEqual(
        done.map((b) => b.state),
        Array(12).fill('success'),
      );
      assert.ok(done.every((b) => b.attempt === 1 && b.retryOf === null));
      const all = await h.service.store.listHistory({ limit: 100 });
      assert.equal(all.builds.length, 12, 'no build was made twice');
      assert.deepEqual(new Set(done.map((b) => b.engine)), new Set(['one', 'two']));
      const api = (await (await fetch(`${await listen()}/api/builds/${done[0]!.id}`)).json()) as Build;
      assert.ok(api.engine === 'one' || api.engine === 'two');
      console.log(`# 12 builds on 2 engines: ${wall} ms`);
      const url = await listen();
      // Monitor: the engines section and the engine of each build; the same as JSON; metrics.
      const fragment = await (await fetch(`${url}/monitor/fragment`)).text();
      assert.match(fragment, /<table id="engines">/);
      assert.match(fragment, /data-engine="two"[^]*?<td class="state">\s*up\s*<\/td>[^]*?0\/1 running/);
      assert.match(fragment, /<td data-label="Engine" class="engine">two<\/td>/);
      const page = await (await fetch(`${url}/monitor/builds/${done[0]!.id}`)).text();
      assert.match(page, new RegExp(`on engine <span id="engine">${done[0]!.engine}</span>`));
      const engines = (await (await fetch(`${url}/api/engines`)).json()) as {
        engines: { name: string; up: boolean; capacity: number }[];
      };
      assert.deepEqual(
        engines.engines.map((e) => [e.name, e.up, e.capacity]),
        [
          ['one', true, 1],
          ['two', true, 1],
        ],
      );
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /autobuilder_engine_up\{engine="two"\} 1/);
      const perEngine = (name: string) =>
        Number(
          new RegExp(`autobuilder_engine_builds_total\\{engine="${name}",state="success"\\} (\\d+)`).exec(
            metrics,
          )?.[1] ?? 0,
        );
      assert.equal(perEngine('one') + perEngine('two'), 12);
    });

    it('an incremental build on the engine lacking the base image pulls it and finds the full build state', async () => {
      const full = await waitForFinal(h, (await push('scale/initramfs', 'master')).id, 60_000);
      assert.equal(full.state, 'success', `${full.reason}\n${log(full)}`);
      const tags = await new RegistryClient(e2.registry).tags(IMAGE_REPO);
      assert.deepEqual(tags, ['master'], 'the committed image was pushed to the registry');
      // Engine `two` must lack it: the build can only get it from the registry.
      await e2.docker
        .getImage(qualified())
        .remove()
        .catch(() => undefined);
      const blocker = await block();
      const inc = await waitForFinal(h, (await push('scale/core0', 'master')).id, 60_000);
      assert.equal(inc.state, 'success', `${inc.reason}\n${log(inc)}`);
      assert.equal(inc.engine, 'two');
      assert.match(log(inc), new RegExp(`^core0 on top of: state-from-${full.commit}$`, 'm'));
      await e2.docker.getImage(qualified()).inspect();
      await h.service.scheduler.cancel(blocker.id);

      // Affinity: with both idle, the engine holding the base image's current copy is preferred.
      await local
        .getImage(qualified())
        .remove({ force: true })
        .catch(() => undefined);
      const again = await waitForFinal(h, (await push('scale/core0', 'feature')).id, 60_000);
      assert.equal(again.state, 'success', again.reason ?? '');
      assert.equal(again.engine, 'two', 'placed where the base image already is');
    });

    it('an engine holding an older copy of the base tag pulls the new one (by digest)', async () => {
      // A new full build moves the tag: engine one commits and pushes it; engine two's copy is old.
      const full = await waitForFinal(h, (await push('scale/initramfs', 'master')).id, 60_000);
      assert.equal(full.state, 'success', `${full.reason}\n${log(full)}`);
      assert.equal(full.engine, 'one');
      await e2.docker.getImage(qualified()).inspect();
      const blocker = await block();
      const inc = await waitForFinal(h, (await push('scale/core0', 'master')).id, 60_000);
      await h.service.scheduler.cancel(blocker.id);
      assert.equal(inc.state, 'success', `${inc.reason}\n${log(inc)}`);
      assert.equal(inc.engine, 'two');
      assert.match(log(inc), new RegExp(`^core0 on top of: state-from-${full.commit}$`, 'm'));
    });

    it('kill -9 of the second engine mid-build: the build is re-queued and finishes on the first', async () => {
      const blocker = await block();
      const slow = await push('scale/slow', 'master');
      await waitFor(async () => {
        const b = await h.service.store.getBuild(slow.id);
        return b?.state === 'running' && log(b).includes('started') ? b : undefined;
      });
      assert.equal((await h.service.store.getBuild(slow.id))!.engine, 'two');
      await h.service.scheduler.cancel(blocker.id);
      const killedAt = Date.now();
      process.kill(e2.pid(), 'SIGKILL');
      const interrupted = await waitForFinal(h, slow.id, 30_000);
      assert.equal(interrupted.state, 'interrupted', interrupted.reason ?? '');
      const retry = await waitFor(async () => {
        const page = await h.service.store.listQueued({ limit: 10 });
        const running = await h.service.store.listRunning();
        return [...page.builds, ...running].find((b) => b.retryOf === slow.id && b.state === 'running');
      }, 30_000);
      console.log(`# engine death to its build running elsewhere: ${Date.now() - killedAt} ms`);
      const finished = await waitForFinal(h, retry.id, 60_000);
      assert.equal(finished.state, 'success', finished.reason ?? '');
      assert.equal(finished.engine, 'one');
      assert.equal(h.service.scheduler.engines.get('two')!.up, false);

      e2.restart();
      await waitFor(() => h.service.scheduler.engines.get('two')!.up, 30_000);
      // Its leftover container (the interrupted build's) is removed once it answers again.
      await waitFor(async () => {
        const left = await e2.docker.listContainers({
          all: true,
          // Ours only: another run's leftovers may carry the same build id.
          filters: {
            label: [
              `org.zero-os.autobuilder.build=${slow.id}`,
              `org.zero-os.autobuilder.instance=${serviceInstance(h.config)}`,
            ],
          },
        });
        return left.length === 0;
      }, 30_000);
    });

    it('kill -STOP of the second engine mid-build: the service keeps answering, marks it down within 40 s, the build runs again on the first', async () => {
      const url = await listen();
      const pid = e2.pid();
      const events = await watch(url, '/api/events');
      // A build runs on engine two when it hangs.
      const blocker = await block();
      const slow = await push('scale/slow', 'hung');
      await waitFor(async () => {
        const b = await h.service.store.getBuild(slow.id);
        return b?.state === 'running' && log(b).includes('started') ? b : undefined;
      });
      assert.equal((await h.service.store.getBuild(slow.id))!.engine, 'two');
      await h.service.scheduler.cancel(blocker.id);
      const stoppedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      try {
        const health = await waitFor(async () => {
          const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
          const body = (await response.json()) as {
            status: string;
            engines?: { name: string; up: boolean }[];
          };
          assert.equal(response.status, 200, 'degraded, still serving: engine one is up');
          return body.engines?.find((e) => e.name === 'two' && !e.up) ? body : undefined;
        }, 45_000);
        assert.equal(health.status, 'degraded');
        assert.ok(Date.now() - stoppedAt < 40_000, `marked down after ${Date.now() - stoppedAt} ms`);
        console.log(`# kill -STOP to marked down: ${Date.now() - stoppedAt} ms`);
        // The monitor's stream says so (the page redraws its Engines section on it).
        await waitFor(() => events.text.includes('"engine":"two","up":false'), 5000);
        // Its build was interrupted and runs again, on the engine that answers.
        const interrupted = await waitForFinal(h, slow.id, 10_000);
        assert.equal(interrupted.state, 'interrupted');
        assert.match(interrupted.reason ?? '', /engine two is down.*re-queued/);
        const retry = await waitFor(
          async () =>
            (await h.service.store.listHistory({ limit: 50 })).builds.find((x) => x.retryOf === slow.id),
          60_000,
        );
        assert.equal(retry.state, 'success', retry.reason ?? '');
        assert.equal(retry.engine, 'one');
        console.log(`# kill -STOP to its build finished elsewhere: ${Date.now() - stoppedAt} ms`);
        // Builds keep running on the engine that answers.
        const build = await waitForFinal(h, (await push('scale/a', 'after-stop')).id, 60_000);
        assert.equal(build.state, 'success', build.reason ?? '');
        assert.equal(build.engine, 'one');
      } finally {
        process.kill(pid, 'SIGCONT');
        events.close();
      }
      await waitFor(() => h.service.scheduler.engines.get('two')!.up, 30_000);
    });
  },
);

describe(
  'an engine over tcp:// with TLS client certificates',
  { skip: typeof engine2 === 'string' ? engine2 : false },
  () => {
    const e2 = engine2 as SecondEngine;
    const harnesses: Harness[] = [];
    const start = async (tls: SecondEngine['tls']) => {
      const h = await startHarness({
        extra: { engines: [{ name: 'tls', url: e2.tlsUrl, capacity: 1, tls }] },
        repositories: { 'scale/a': rule(['echo over-tls']) },
      });
      harnesses.push(h);
      return h;
    };
    after(() => closeHarnesses(harnesses));

    it('runs a build there', async () => {
      const h = await start(e2.tls);
      const repo = new LocalRepo(h.gitRoot, 'scale/a');
      const build = await waitForFinal(
        h,
        (await enqueuePush(h, 'scale/a', 'master', repo.commit('master', { a: '1' }))).id,
        60_000,
      );
      assert.equal(build.state, 'success', build.reason ?? '');
      assert.equal(build.engine, 'tls');
      assert.match(readFileSync(build.logPath!, 'utf8'), /^over-tls$/m);
    });

    it('an exec stream to a tcp:// engine has TCP keepalive on its connection', async () => {
      const docker = dockerFor({ name: 'tls', url: e2.tlsUrl, capacity: 1, tls: e2.tls });
      const container = await docker.createContainer({
        Image: TEST_IMAGE,
        Cmd: ['sleep', '60'],
        Labels: { 'org.zero-os.autobuilder.test': 'keepalive' },
        HostConfig: { NetworkMode: 'none' },
      });
      try {
        await container.start();
        const exec = await container.exec({ Cmd: ['sleep', '20'], AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        try {
          const port = new URL(e2.tlsUrl).port;
          // `ss -o` shows a keepalive timer only on sockets with SO_KEEPALIVE set. (Node ≥ 19's
          // global agent keeps sockets alive too; dockerFor sets its own agent so this holds whatever
          // the default: this test guards it, it does not fail without that agent on Node 20.)
          const sockets = execFileSync('ss', ['-tno', 'state', 'established', `( dport = :${port} )`], {
            encoding: 'utf8',
          });
          assert.match(sockets, /timer:\(keepalive/);
        } finally {
          stream.destroy();
        }
      } finally {
        await container.remove({ force: true });
      }
    });

    it('an engine whose certificate the configured CA did not sign: builds wait, with the reason', async () => {
      // The client certificate is no CA of the server's: the TLS handshake fails.
      const h = await start({ ...e2.tls, ca: e2.tls.cert });
      const repo = new LocalRepo(h.gitRoot, 'scale/a');
      const queued = await enqueuePush(h, 'scale/a', 'master', repo.commit('master', { a: '2' }));
      const reason = await waitFor(() => h.service.scheduler.waitReason(queued.id) ?? undefined);
      assert.match(reason, /build engine unavailable: .*(certificate|self.signed|verify)/i);
      assert.equal((await h.service.store.getBuild(queued.id))!.state, 'queued');
    });
  },
);
