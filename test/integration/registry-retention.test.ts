/**
 * Retention deletes old committed-image tags through the registry API, on the real registry
 * (Debian's docker-registry on loopback, `storage.delete.enabled`) with images pushed by real
 * builds on the real engine. Nothing is mocked; the registry that is down or hangs is a closed
 * port and a loopback server that never answers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { collectGarbage } from '../../src/artifacts/retention.js';
import { pullImage, pushImage } from '../../src/executor/docker/image-transfer.js';
import { RegistryClient } from '../../src/executor/registry/registry-client.js';
import { removeImages, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal, type Harness } from '../helpers/harness.js';
import { secondEngine, type SecondEngine } from '../helpers/second-engine.js';

const engine2 = secondEngine();
const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'src/cli.ts');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const IMAGE_REPO = `autobuilder-retention-${process.pid}/initramfs`;

describe('registry retention', { skip: typeof engine2 === 'string' ? engine2 : false }, () => {
  const e2 = engine2 as SecondEngine;
  let docker: Docker;
  let h: Harness;
  let registry: RegistryClient;
  const servers: Server[] = [];
  const qualified = (tag: string) => `${e2.registry}/${IMAGE_REPO}:${tag}`;

  before(async () => {
    docker = await requireDocker();
    registry = new RegistryClient(e2.registry, 10_000);
    h = await startHarness({
      repositories: {
        'ret/initramfs': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: ['echo "state-$AUTOBUILD_COMMIT" > /state'],
          commit: `${IMAGE_REPO}:{branch}`,
        },
      },
      // Every ref but master is past its age as soon as its build ended.
      extra: { registry: e2.registry, retention: { keep: 2, image_age: 1 } },
    });
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
    for (const server of servers) server.close();
    if (docker) await removeImages(docker, `${e2.registry}/${IMAGE_REPO}`).catch(() => undefined);
    for (const tag of ['master', 'old', 'shared'])
      await registry?.deleteTag(IMAGE_REPO, tag).catch(() => undefined);
  });

  it('deletes the tag of a ref past its age, never master nor a tag sharing master’s image', async () => {
    const repo = new LocalRepo(h.gitRoot, 'ret/initramfs');
    for (const branch of ['master', 'old', 'shared']) {
      const build = await enqueuePush(h, 'ret/initramfs', branch, repo.commit(branch, { b: branch }));
      assert.equal((await waitForFinal(h, build.id, 120_000)).state, 'success');
    }
    assert.deepEqual((await registry.tags(IMAGE_REPO)).sort(), ['master', 'old', 'shared']);
    // `shared` (ours, past its age) now names master's image: deleting its digest would delete
    // master too, so it must stay.
    await docker.getImage(qualified('master')).tag({ repo: `${e2.registry}/${IMAGE_REPO}`, tag: 'shared' });
    await pushImage(docker, qualified('shared'));
    const masterDigest = await registry.digest(IMAGE_REPO, 'master');
    assert.equal(await registry.digest(IMAGE_REPO, 'shared'), masterDigest);

    const result = await h.service.gc();
    assert.deepEqual(result.problems, []);
    assert.equal(result.tags, 1, 'one tag deleted: old');
    assert.deepEqual((await registry.tags(IMAGE_REPO)).sort(), ['master', 'shared']);
    assert.equal(await registry.digest(IMAGE_REPO, 'old'), null);
    assert.equal(await registry.digest(IMAGE_REPO, 'master'), masterDigest);
    // Still pullable: the engine forgets its copy and pulls master back from the registry.
    await removeImages(docker, `${e2.registry}/${IMAGE_REPO}`);
    await pullImage(docker, qualified('master'));
    assert.ok(await docker.getImage(qualified('master')).inspect());

    const again = await h.service.gc();
    assert.equal(again.tags, 0, 'nothing more to delete');
  });

  it('a registry that is down or never answers is reported; the rest of retention is done', async () => {
    // Down: a port nothing listens on any more. Hung: accepts connections, never answers.
    const closed = await listen(createServer());
    await new Promise((resolve) => closed.server.close(resolve));
    const silent = await listen(createServer(() => undefined));
    servers.push(silent.server);
    for (const port of [closed.port, silent.port]) {
      const result = await collectGarbage({
        store: h.service.store,
        executor: null,
        kernelTarget: h.config.kernelTarget,
        keep: 2,
        registry: { client: new RegistryClient(`127.0.0.1:${port}`, 1000), imageAgeMs: 1 },
      });
      assert.equal(result.tags, 0);
      assert.equal(result.problems.length, 1, result.problems.join('\n'));
      assert.match(
        result.problems[0]!,
        new RegExp(`registry 127\\.0\\.0\\.1:${port}: GET ${IMAGE_REPO}/tags/list`),
      );
    }
  });

  it('`autobuilder gc` with the registry down: says so on stderr, prunes the rest, exits 0', async () => {
    const closed = await listen(createServer());
    await new Promise((resolve) => closed.server.close(resolve));
    const file = join(h.home, 'gc-registry-down.yaml');
    const config = readFileSync(h.file, 'utf8');
    assert.ok(config.includes(`registry: ${e2.registry}`));
    writeFileSync(file, config.replace(`registry: ${e2.registry}`, `registry: 127.0.0.1:${closed.port}`));
    const result = spawnSync(process.execPath, ['--import', TSX, CLI, '-c', file, 'gc'], {
      encoding: 'utf8',
      env: { ...process.env, AUTOBUILDER_CONFIG: '' },
      timeout: 60_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`autobuilder: retention: registry 127\\.0\\.0\\.1:${closed.port}: GET `),
    );
    assert.match(
      result.stdout,
      /^pruned \d+ builds: \d+ logs, \d+ kernels, \d+ images, 0 registry tags, \d+ caches \([^)]+\)$/m,
    );
  });
});

async function listen(server: Server): Promise<{ server: Server; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}
