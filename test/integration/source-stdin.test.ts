/**
 * The source on step 1's stdin, on the real engine: a build's step 1 sees exactly the pushed tree
 * (unpacked from stdin, not copied in), and an image without `tar` still builds (the source is
 * copied in before the start instead, and the executor remembers that image).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, mock } from 'node:test';
import Docker from 'dockerode';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { SourceNotUnpacked, type ContainerHandle } from '../../src/executor/executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal } from '../helpers/harness.js';

describe('source on the first step stdin (Docker)', () => {
  let docker: Docker;
  // Test-only, removed afterwards: the test image without a `tar` (nor its link) on PATH.
  const noTar = `autobuilder-test/no-tar:${process.pid}`;
  // Test-only too: the test image with a USER that is not root (it could not write `/src`).
  const notRoot = `autobuilder-test/not-root:${process.pid}`;

  before(async () => {
    docker = await requireDocker();
    const maker = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['rm', '/bin/tar'],
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await maker.start();
      assert.equal((await maker.wait()).StatusCode, 0);
      const [repo, tag] = noTar.split(':');
      await maker.commit({ repo, tag, changes: 'CMD ["/bin/sh"]' });
      const [userRepo, userTag] = notRoot.split(':');
      await maker.commit({ repo: userRepo, tag: userTag, changes: 'USER 1000' });
    } finally {
      await maker.remove({ force: true });
    }
  });
  after(async () => {
    for (const image of [noTar, notRoot])
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('the container started while the repository file is read runs nothing of the server’s step 1 when the file changes it', async () => {
    const h = await startHarness({
      executor: new DockerExecutor(docker, `source-stdin-file-${process.pid}`),
      repositories: {
        'acme/file': { image: TEST_IMAGE, checkout: '/src', network: 'none', steps: ['echo server-ran'] },
      },
    });
    try {
      const repo = new LocalRepo(h.gitRoot, 'acme/file');
      for (const [files, expected, absent] of [
        [{ which: 'one\n' }, 'server-ran', 'file-ran'],
        [
          { '.autobuilder.yaml': 'steps: ["echo file-ran; cat which"]\n', which: 'two\n' },
          'file-ran\ntwo',
          'server-ran',
        ],
      ] as const) {
        const queued = await enqueuePush(h, 'acme/file', 'master', repo.commit('master', files));
        const build = await waitForFinal(h, queued.id, 120_000);
        assert.equal(build.state, 'success', build.reason ?? '');
        const log = readFileSync(build.logPath!, 'utf8');
        assert.ok(log.includes(`\n${expected}\n`), log);
        assert.ok(!log.includes(`\n${absent}\n`), log);
      }
    } finally {
      await h.close();
      removeHome(h);
    }
  });

  it('an image whose USER is not root gets its source copied in by the engine, and builds', async () => {
    const h = await startHarness({
      executor: new DockerExecutor(docker, `source-stdin-user-${process.pid}`),
      repositories: {
        'acme/user': {
          image: notRoot,
          checkout: '/src',
          network: 'none',
          steps: ['id -u; cat which', 'cat which'],
        },
      },
    });
    try {
      const sha = new LocalRepo(h.gitRoot, 'acme/user').commit('master', { which: 'as-user\n' });
      const queued = await enqueuePush(h, 'acme/user', 'master', sha);
      const build = await waitForFinal(h, queued.id, 120_000);
      assert.equal(build.state, 'success', build.reason ?? '');
      const log = readFileSync(build.logPath!, 'utf8');
      assert.match(log, /\n1000\nas-user\n==> step 2\/2: [^\n]*\nas-user\n/);
    } finally {
      await h.close();
      removeHome(h);
    }
  });

  it('step 1 sees exactly the pushed commit, unpacked from its stdin, and stdin is closed', async () => {
    const h = await startHarness({
      executor: new DockerExecutor(docker, `source-stdin-${process.pid}`),
      repositories: {
        'acme/stdin': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: [
            'cat /run/autobuilder/source; find . -type f | sort; cat which; ' +
              'if read -r line; then echo stdin-open; else echo stdin-closed; fi',
          ],
        },
      },
    });
    try {
      const repo = new LocalRepo(h.gitRoot, 'acme/stdin');
      const pushed = repo.commit('master', { which: 'pushed\n', 'a/b/c': 'deep\n' });
      // A later commit is in the mirror too: the build must still see the one it was asked for.
      repo.commit('master', { which: 'later\n', extra: 'later\n' });
      const queued = await enqueuePush(h, 'acme/stdin', 'master', pushed);
      const build = await waitForFinal(h, queued.id, 120_000);
      assert.equal(build.state, 'success', build.reason ?? '');
      const log = readFileSync(build.logPath!, 'utf8');
      assert.match(log, /==> step 1\/1: [^\n]*\nunpacked\n\.\/a\/b\/c\n\.\/which\npushed\nstdin-closed\n/);
    } finally {
      await h.close();
      removeHome(h);
    }
  });

  it('an image without tar: step 1 does not run, the executor says so, and the next create copies instead', async () => {
    const executor = new DockerExecutor(docker, `source-stdin-exec-${process.pid}`);
    const spec = {
      buildId: 9_200_001,
      image: noTar,
      env: {},
      network: 'none',
      firstStep: { command: 'echo step-ran', sourceOnStdin: true },
    };
    const made: ContainerHandle[] = [];
    try {
      const first = await executor.create(spec);
      made.push(first);
      assert.equal(first.sourceOnStdin, true);
      let out = '';
      await assert.rejects(
        executor.runFirstStep(first, {
          onOutput: (chunk) => (out += chunk.toString()),
          source: () => new Promise(() => undefined), // never needed
        }),
        (error: unknown) => error instanceof SourceNotUnpacked && error.kind === 'no-tar',
      );
      assert.doesNotMatch(out, /step-ran/);
      // Remembered by image id: no second try on stdin.
      const second = await executor.create({ ...spec, buildId: 9_200_002 });
      made.push(second);
      assert.equal(second.sourceOnStdin, false);
    } finally {
      for (const handle of made) await executor.destroy(handle);
    }
  });

  it('one image inspect before a build container: ensureImage’s serves the create after it', async () => {
    let inspects = 0;
    // The engine as the executor sees it, counting image inspects (`GET /images/{name}/json`) as
    // they are dialled (as test/helpers/cutting-docker.ts wraps dockerode).
    class CountingDocker extends Docker {
      constructor() {
        super();
        const dial = this.modem.dial.bind(this.modem);
        this.modem.dial = ((options, callback) => {
          if (options.method === 'GET' && /^\/images\/.+\/json$/.test(options.path)) inspects += 1;
          return dial(options, callback);
        }) as typeof dial;
      }
    }
    const executor = new DockerExecutor(new CountingDocker(), `source-stdin-inspect-${process.pid}`);
    const spec = (buildId: number, image: string) => ({
      buildId,
      image,
      env: {},
      network: 'none',
      firstStep: { command: 'true', sourceOnStdin: true },
    });
    const made: ContainerHandle[] = [];
    try {
      assert.equal(await executor.ensureImage(TEST_IMAGE), true);
      made.push(await executor.create(spec(9_200_011, TEST_IMAGE)));
      assert.equal(made[0]!.sourceOnStdin, true);
      assert.equal(inspects, 1);
      // Taken once: a create with no ensureImage before it asks the engine itself.
      made.push(await executor.create(spec(9_200_012, TEST_IMAGE)));
      assert.equal(inspects, 2);
      // What the reused inspect says of the image still decides: a USER that is not root copies.
      assert.equal(await executor.ensureImage(notRoot), true);
      made.push(await executor.create(spec(9_200_013, notRoot)));
      assert.equal(made[2]!.sourceOnStdin, false);
      assert.equal(inspects, 3);
      // An inspect older than the reuse window is not taken: the create asks the engine again.
      assert.equal(await executor.ensureImage(TEST_IMAGE), true);
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      try {
        mock.timers.tick(2_001);
        made.push(await executor.create(spec(9_200_014, TEST_IMAGE)));
      } finally {
        mock.timers.reset();
      }
      assert.equal(inspects, 5);
    } finally {
      for (const handle of made) await executor.destroy(handle);
    }
  });

  it('a build on an image without tar still sees its source and succeeds', async () => {
    const h = await startHarness({
      executor: new DockerExecutor(docker, `source-stdin-notar-${process.pid}`),
      repositories: {
        'acme/notar': { image: noTar, checkout: '/src', network: 'none', steps: ['cat which', 'cat which'] },
      },
    });
    try {
      const sha = new LocalRepo(h.gitRoot, 'acme/notar').commit('master', { which: 'copied-in\n' });
      const queued = await enqueuePush(h, 'acme/notar', 'master', sha);
      const build = await waitForFinal(h, queued.id, 120_000);
      assert.equal(build.state, 'success', build.reason ?? '');
      assert.deepEqual(
        build.steps.map((step) => step.exitCode),
        [0, 0],
      );
      const log = readFileSync(build.logPath!, 'utf8');
      assert.match(
        log,
        /has no tar[^\n]*copying it in instead\ncopied-in\n==> step 2\/2: [^\n]*\ncopied-in\n/,
      );
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
