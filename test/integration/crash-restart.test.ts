/**
 * Fault test: signed pushes keep arriving while the real service process is killed with SIGKILL
 * and started again, on a real Docker engine. Every accepted push must end as a build with a final
 * state; no container or temp dir of ours may be left; no finished log may be cut short.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFinal, type Build } from '../../src/domain/build.js';
import { serviceInstance } from '../../src/config/service-instance.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ourContainers, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/harness.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'fault-secret';
const PUSHES = 16;
const KILLS = 3;

describe('kill -9 while pushes arrive', () => {
  const service = new ServiceProcess('ab-fault-');
  const { home, gitRoot } = service;

  before(async () => {
    await requireDocker();
    service.configure({
      token: SECRET,
      concurrency: 2,
      grace_period: '1s',
      repositories: {
        'acme/os': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: [
            'for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i of $AUTOBUILD_BRANCH"; sleep 0.1; done',
            'cp /src/kernel /target/vmlinuz.efi',
          ],
          publish: 'os-{branch}-{short}.efi',
        },
      },
    });
  });

  after(() => service.close(true));

  it('ends every accepted push in a final state and leaves nothing behind', async () => {
    const repo = new LocalRepo(gitRoot, 'acme/os');
    const accepted: number[] = [];
    /** The builds running when each kill landed. */
    const runningAtKill: number[][] = [];
    let refused = 0;
    await service.start();
    const killAt = new Set(
      Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 1) * PUSHES) / (KILLS + 1))),
    );
    for (let i = 0; i < PUSHES; i += 1) {
      const branch = `b${i % 5}`;
      const sha = repo.commit(branch, { kernel: `kernel ${i}\n` });
      const body = JSON.stringify(pushPayload({ repository: 'acme/os', branch, commit: sha }));
      const response = await fetch(`${service.url}/build/fault/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body, { secret: SECRET, delivery: `fault-${i}` }),
      }).catch(() => null);
      if (response?.status === 202) accepted.push(((await response.json()) as { id: number }).id);
      else refused += 1;
      if (killAt.has(i)) {
        // The kill must land while a build runs: wait until one does (no clock).
        const running = await waitFor(async () => {
          const status = (await (await fetch(`${service.url}/build/status`)).json()) as {
            running: { id: number }[];
          };
          return status.running.length > 0 ? status.running.map((b) => b.id) : undefined;
        }, 60_000);
        runningAtKill.push(running);
        await service.stop('SIGKILL');
        await service.start();
      }
    }
    const store = await SqliteStore.open(join(home, 'data', 'autobuilder.db'));
    try {
      const all = await waitFor(async () => {
        const active = await store.listActive();
        if (active.length > 0) return undefined;
        return (await store.listHistory({ limit: 500 })).builds;
      }, 180_000);
      const byId = new Map(all.map((b: Build) => [b.id, b]));
      const counts: Record<string, number> = {};
      for (const id of accepted) {
        const build = byId.get(id);
        assert.ok(build && isFinal(build.state), `accepted build #${id} is final`);
        counts[build.state] = (counts[build.state] ?? 0) + 1;
      }
      // Each kill landed on a running build: recovery found it running (interrupted, or superseded
      // by a newer push of its branch), unless it ended in the instant before the kill.
      const stoppedWhileRunning = (id: number) => /stopped while it ran/.test(byId.get(id)?.reason ?? '');
      for (const running of runningAtKill) {
        assert.ok(
          running.some(stoppedWhileRunning),
          `a build running at the kill was stopped by it: ${running.map((id) => `#${id} ${byId.get(id)?.state}`).join(', ')}`,
        );
      }
      const interrupted = all.filter((b: Build) => b.state === 'interrupted');
      for (const b of interrupted) {
        const retry = all.find((r: Build) => r.retryOf === b.id);
        assert.ok(
          retry ? isFinal(retry.state) : b.attempt > 1,
          `interrupted #${b.id} was re-queued and finished`,
        );
      }
      for (const b of all.filter((x: Build) => x.state === 'success')) {
        const log = readFileSync(b.logPath!, 'utf8');
        assert.match(log, /line 10 of /, `log of #${b.id} is whole`);
        assert.match(log, /==> success\n$/, `log of #${b.id} ends with its result`);
      }
      // Only this service's containers: other services may share the engine.
      const instance = serviceInstance({ dataDirectory: join(home, 'data') });
      await waitFor(() => ourContainers(instance).length === 0, 30_000);
      assert.deepEqual(readdirSync(join(home, 'tmp')), []);
      process.stdout.write(
        `# fault test: ${PUSHES} pushes, ${accepted.length} accepted, ${refused} refused while down, ${KILLS} kill -9, ` +
          `${all.length} builds recorded, final states of accepted: ${JSON.stringify(counts)}, ` +
          `${interrupted.length} interrupted and re-queued\n`,
      );
      assert.ok(accepted.length >= PUSHES - KILLS * 2, 'most pushes were accepted');
    } finally {
      await store.close();
    }
    await service.stop('SIGTERM');
  });
});
