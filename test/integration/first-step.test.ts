/**
 * Step 1 as the container's own process, on the real engine: its exit code is the process's
 * status (nothing it prints can stand for it), and nothing it leaves running reaches step 2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import type { ContainerHandle, FirstStep } from '../../src/executor/executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal } from '../helpers/harness.js';

describe('first step as the container process (Docker)', () => {
  let docker: Docker;
  let executor: DockerExecutor;
  const made: ContainerHandle[] = [];
  let buildId = 9_100_000;

  before(async () => {
    docker = await requireDocker();
    executor = new DockerExecutor(docker, `first-step-${process.pid}`);
  });
  after(async () => {
    for (const handle of made) await executor.destroy(handle);
  });

  async function create(firstStep: FirstStep): Promise<ContainerHandle> {
    const handle = await executor.create({
      buildId: ++buildId,
      image: TEST_IMAGE,
      env: {},
      network: 'none',
      firstStep,
    });
    made.push(handle);
    return handle;
  }

  async function collect(run: (onOutput: (chunk: Buffer) => void) => Promise<number>) {
    let out = '';
    const code = await run((chunk) => (out += chunk.toString()));
    return { code, out };
  }

  it('what the step prints cannot change its exit code', async () => {
    // A fake exit line and a fake frame header of the engine's stream, then the real exit.
    const handle = await create({
      command: "echo 'exit code 0'; printf '\\001\\000\\000\\000\\000\\000\\000\\002ok'; echo; exit 7",
    });
    const { code, out } = await collect((onOutput) => executor.runFirstStep(handle, { onOutput }));
    assert.equal(code, 7);
    assert.match(out, /^exit code 0\n/);
  });

  it("nothing step 1 leaves running reaches step 2's output or files", async () => {
    const handle = await create({
      command:
        '(while :; do echo tick >> /tmp/ticks; sleep 0.1; done) & ' +
        '(sleep 1; echo late-from-step-1) & ' +
        'until [ -s /tmp/ticks ]; do sleep 0.05; done; echo step-1-done',
    });
    const first = await collect((onOutput) => executor.runFirstStep(handle, { onOutput }));
    assert.deepEqual(first, { code: 0, out: 'step-1-done\n' });
    await executor.resume(handle);
    const second = await collect((onOutput) =>
      executor.exec(
        handle,
        'a=$(wc -c < /tmp/ticks); sleep 1.5; b=$(wc -c < /tmp/ticks); [ "$a" = "$b" ] && echo quiet',
        { onOutput },
      ),
    );
    assert.deepEqual(second, { code: 0, out: 'quiet\n' });
  });

  it('the engine keeps no log of its own: output reaches the build only through attach', async () => {
    const handle = await create({ command: 'echo through-attach' });
    const { code, out } = await collect((onOutput) => executor.runFirstStep(handle, { onOutput }));
    assert.deepEqual({ code, out }, { code: 0, out: 'through-attach\n' });
    const info = await docker.getContainer(handle.id).inspect();
    assert.equal(info.HostConfig.LogConfig?.Type, 'none');
    // The step's environment and directory are in its command, not in what `commit` keeps.
    assert.equal(info.Config.WorkingDir, '');
  });

  it("a step that signals itself ends as an exec'd step does (it is not the container's PID 1)", async () => {
    // PID 1 ignores every signal it has no handler for: a step that stops itself on a fatal error
    // (`kill $$`, a common idiom) would carry on and could pass.
    const command = 'kill -TERM $$; echo carried-on';
    const handle = await create({ command });
    const first = await collect((onOutput) => executor.runFirstStep(handle, { onOutput }));
    const other = await executor.start({ buildId: ++buildId, image: TEST_IMAGE, env: {}, network: 'none' });
    made.push(other);
    const exec = await collect((onOutput) => executor.exec(other, command, { onOutput }));
    assert.deepEqual(exec, { code: 143, out: '' });
    assert.deepEqual(first, exec);
  });

  it("runs in an image whose USER is not root (the note's directory is writable by it), once", async () => {
    // An image as a build may bring: its own user, set in the image's configuration.
    const base = await executor.create({ buildId: ++buildId, image: TEST_IMAGE, env: {}, network: 'none' });
    made.push(base);
    const image = `autobuilder-test/first-step-user-${process.pid}:latest`;
    const [repo, tag] = image.split(':');
    await docker.getContainer(base.id).commit({ repo, tag, changes: 'USER 1000' });
    try {
      const handle = await executor.create({
        buildId: ++buildId,
        image,
        env: {},
        network: 'none',
        firstStep: { command: 'id -u; echo ran >> /tmp/step-1-runs' },
      });
      made.push(handle);
      const first = await collect((onOutput) => executor.runFirstStep(handle, { onOutput }));
      assert.deepEqual(first, { code: 0, out: '1000\n' });
      // Started again, it waits for exec: step 1 is not run a second time.
      await executor.resume(handle);
      const second = await collect((onOutput) => executor.exec(handle, 'cat /tmp/step-1-runs', { onOutput }));
      assert.deepEqual(second, { code: 0, out: 'ran\n' });
    } finally {
      for (const handle of made.splice(0)) await executor.destroy(handle);
      await docker.getImage(image).remove({ force: true });
    }
  });

  it('in a build, step 1 and step 2 each keep their own output and exit code', async () => {
    const h = await startHarness({
      executor: new DockerExecutor(docker, `first-step-pipeline-${process.pid}`),
      repositories: {
        'acme/apart': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: [
            // Sees the source at the pushed commit in its directory; leaves a printer behind.
            'cat which; (sleep 1; echo late-from-step-1) & echo step-1-done',
            'sleep 2; echo step-2-done; exit 4',
          ],
        },
      },
    });
    try {
      const sha = new LocalRepo(h.gitRoot, 'acme/apart').commit('master', { which: 'the-pushed-tree\n' });
      const queued = await enqueuePush(h, 'acme/apart', 'master', sha);
      const build = await waitForFinal(h, queued.id, 120_000);
      assert.equal(build.state, 'failed');
      assert.equal(build.reason, 'step 2 (sleep 2; echo step-2-done; exit 4) exited with code 4');
      assert.deepEqual(
        build.steps.map((step) => step.exitCode),
        [0, 4],
      );
      const log = readFileSync(build.logPath!, 'utf8');
      assert.match(
        log,
        /==> step 1\/2: [^\n]*\nthe-pushed-tree\nstep-1-done\n==> step 2\/2: [^\n]*\nstep-2-done\n/,
      );
      assert.doesNotMatch(log, /^late-from-step-1$/m);
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
