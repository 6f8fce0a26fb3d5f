/**
 * An engine over ssh://: the second dockerd behind a private sshd on loopback
 * (scripts/start-ssh-engine.sh), logged in with a key file, its host key pinned. Nothing mocked:
 * dockerode speaks the Engine API through `docker system dial-stdio` run by that sshd.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  closeHarnesses,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { secondEngine } from '../helpers/second-engine.js';
import { sshEngine, type SshEngine } from '../helpers/ssh-engine.js';

// The sshd reaches the second engine: both must be there.
const engine2 = secondEngine();
const ssh = typeof engine2 === 'string' ? engine2 : sshEngine();

describe('an engine over ssh://', { skip: typeof ssh === 'string' ? ssh : false }, () => {
  const s = ssh as SshEngine;
  const harnesses: Harness[] = [];
  const start = async (hostKey: string) => {
    const h = await startHarness({
      extra: {
        engines: [{ name: 'over-ssh', url: s.url, capacity: 1, ssh: { key: s.key, host_key: hostKey } }],
      },
      repositories: {
        'ssh/os': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: ['echo "kernel from $(hostname)" > /target/vmlinuz.efi', 'echo over-ssh'],
          publish: 'ssh-{branch}-{short}.efi',
        },
      },
    });
    harnesses.push(h);
    return h;
  };
  after(() => closeHarnesses(harnesses));

  it('runs a build there to success and publishes its kernel; the engine shows up', async () => {
    const h = await start(s.hostKey);
    const repo = new LocalRepo(h.gitRoot, 'ssh/os');
    const queued = await enqueuePush(h, 'ssh/os', 'master', repo.commit('master', { a: '1' }));
    const build = await waitForFinal(h, queued.id, 120_000);
    assert.equal(build.state, 'success', build.reason ?? '');
    assert.equal(build.engine, 'over-ssh');
    assert.match(readFileSync(build.logPath!, 'utf8'), /^over-ssh$/m);
    assert.ok(build.artifact, 'a kernel was published');
    const kernel = join(h.config.kernelTarget, build.artifact);
    assert.ok(existsSync(kernel));
    assert.match(readFileSync(kernel, 'utf8'), /^kernel from /);
    const url = await h.listen();
    const engines = (await (await fetch(`${url}/api/engines`)).json()) as {
      engines: { name: string; url: string; up: boolean }[];
    };
    assert.deepEqual(
      engines.engines.map((e) => [e.name, e.up]),
      [['over-ssh', true]],
    );
  });

  it('a host whose key is not the pinned one is refused: builds wait, with the reason', async () => {
    const h = await start(`SHA256:${'A'.repeat(43)}`);
    const repo = new LocalRepo(h.gitRoot, 'ssh/os');
    const queued = await enqueuePush(h, 'ssh/os', 'master', repo.commit('master', { a: '2' }));
    const reason = await waitFor(() => h.service.scheduler.waitReason(queued.id) ?? undefined, 30_000);
    assert.match(reason, /build engine unavailable: .*host denied/i);
    assert.equal((await h.service.store.getBuild(queued.id))!.state, 'queued');
  });
});
