/**
 * Issue 11, "names that cannot collide", on a real Docker engine through signed webhooks: refs
 * that used to be sanitised to `master` (and a replayed old push body) leave the master kernel,
 * its link and the `…:master` image that incremental builds start from as they were.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import type { Build, RefType } from '../../src/domain/build.js';
import { refSlug } from '../../src/domain/ref-slug.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { removeImages, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitForFinal, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/webhook.js';
import { postPush } from '../helpers/push-and-wait.js';

const SECRET = 'refnames-secret';
const REPOSITORY = 'zero-os/initramfs';
const IMAGE_REPO = 'autobuilder-refnames/initramfs';
const COMPONENT = 'zero-os/core0';
const MASTER_KERNEL_LINK = 'zero-os-master-generic.efi';
const BUILD_SCRIPT = [
  'set -e',
  'mkdir -p /opt/zero-os && echo "state-from-$1" > /opt/zero-os/state',
  'echo "kernel of $1 at $AUTOBUILD_COMMIT" > /target/vmlinuz.efi',
].join('\n');

describe('ref names on a real engine', () => {
  let docker: Docker;
  let h: Harness;
  let repo: LocalRepo;
  let delivery = 0;

  before(async () => {
    docker = await requireDocker();
    await removeImages(docker, IMAGE_REPO);
    h = await startHarness({
      token: SECRET,
      executor: new DockerExecutor(docker),
      repositories: {
        [REPOSITORY]: {
          image: TEST_IMAGE,
          checkout: '/initramfs',
          steps: ['sh /initramfs/build.sh "$AUTOBUILD_BRANCH"'],
          network: 'none',
          commit: `${IMAGE_REPO}:{branch}`,
          publish: 'zero-os-{branch}-generic-{short}.efi',
          link: 'zero-os-{branch}-generic.efi',
        },
        // The built-in component templates, as a full build to need no base image.
        [COMPONENT]: {
          image: TEST_IMAGE,
          checkout: '/core0',
          steps: ['sh /core0/build.sh "$AUTOBUILD_BRANCH"'],
          network: 'none',
          publish: 'zero-os-{branch}-{name}-{short}.efi',
          link: 'zero-os-{branch}.efi',
        },
      },
    });
    await h.listen();
    repo = new LocalRepo(h.gitRoot, REPOSITORY);
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
    if (docker) await removeImages(docker, IMAGE_REPO);
  });

  /** Posts a signed body; answers the service's JSON answer. */
  const post = (body: string) =>
    postPush(h, body, { secret: SECRET, project: 'refnames', delivery: `refnames-${++delivery}` });

  async function pushTo(repository: string, refType: RefType, name: string, commit: string): Promise<Build> {
    const ref = `refs/${refType === 'tag' ? 'tags' : 'heads'}/${name}`;
    const body = JSON.stringify(pushPayload({ repository, branch: name, ref, commit }));
    return waitForFinal(h, (await post(body)).id, 120_000);
  }

  async function push(refType: RefType, name: string, commit: string, before?: string): Promise<Build> {
    const ref = `refs/${refType === 'tag' ? 'tags' : 'heads'}/${name}`;
    const body = JSON.stringify(pushPayload({ repository: REPOSITORY, branch: name, ref, commit, before }));
    const build = await waitForFinal(h, (await post(body)).id, 120_000);
    assert.equal(build.state, 'success', `${build.reason}\n${readFileSync(build.logPath!, 'utf8')}`);
    return build;
  }

  const kernelTarget = () => h.config.kernelTarget;
  const masterState = async () => {
    const link = readlinkSync(join(kernelTarget(), MASTER_KERNEL_LINK));
    return {
      link,
      kernel: readFileSync(join(kernelTarget(), link), 'utf8'),
      image: (await docker.getImage(`${IMAGE_REPO}:master`).inspect()).Id,
    };
  };

  let master: Awaited<ReturnType<typeof masterState>>;
  let masterBody: string;
  let masterBuild: Build;

  it('a push to master publishes the master kernel, link and image', async () => {
    const sha = repo.commit('master', { 'build.sh': BUILD_SCRIPT });
    masterBody = JSON.stringify(pushPayload({ repository: REPOSITORY, branch: 'master', commit: sha }));
    masterBuild = await waitForFinal(h, (await post(masterBody)).id, 120_000);
    assert.equal(masterBuild.state, 'success', masterBuild.reason ?? '');
    master = await masterState();
    assert.equal(master.link, `zero-os-master-generic-${sha.slice(0, 8)}.efi`);
    assert.equal(master.kernel, `kernel of master at ${sha}\n`);
  });

  const hostile: [RefType, string][] = [
    ['branch', '-master'],
    ['branch', '@/master'],
    ['tag', 'master'],
    ['branch', 'émaster'],
  ];
  for (const [refType, name] of hostile) {
    it(`a push to ${refType} ${name} gets names of its own and leaves master's alone`, async () => {
      // Each on a commit of its own, pushed under a plain branch: the service reads commits, not refs.
      const sha = repo.commit(`hostile-${delivery}`, { 'build.sh': BUILD_SCRIPT, who: name });
      const build = await push(refType, name, sha);
      const slug = refSlug(refType, name);
      assert.notEqual(slug, 'master');
      assert.equal(build.artifact, `zero-os-${slug}-generic-${sha.slice(0, 8)}.efi`);
      assert.equal(build.image, `${IMAGE_REPO}:${slug}`);
      assert.equal(
        readFileSync(join(kernelTarget(), build.artifact!), 'utf8'),
        `kernel of ${name} at ${sha}\n`,
      );
      // A tag build is a release: it moves `release_link` (none here), never `link`.
      if (refType === 'branch')
        assert.equal(readlinkSync(join(kernelTarget(), `zero-os-${slug}-generic.efi`)), build.artifact);
      else assert.equal(existsSync(join(kernelTarget(), `zero-os-${slug}-generic.efi`)), false);
      await docker.getImage(`${IMAGE_REPO}:${slug}`).inspect();
      assert.deepEqual(await masterState(), master);
    });
  }

  it('a 101-character branch and its 100-character prefix get different kernels and images', async () => {
    const long = `r${'x'.repeat(100)}`;
    const builds: Build[] = [];
    for (const name of [long.slice(0, 100), long]) {
      builds.push(
        await push('branch', name, repo.commit(`len-${name.length}`, { 'build.sh': BUILD_SCRIPT })),
      );
    }
    const [short, full] = builds as [Build, Build];
    assert.notEqual(short.artifact, full.artifact);
    assert.notEqual(short.image, full.image);
    const images = await Promise.all(builds.map(async (b) => (await docker.getImage(b.image!).inspect()).Id));
    assert.notEqual(images[0], images[1]);
    assert.ok(full.image!.length - IMAGE_REPO.length - 1 <= 128, 'a valid Docker tag');
    assert.deepEqual(await masterState(), master);
  });

  it('a branch of another repository whose link would be the master link is refused, master untouched', async () => {
    const component = new LocalRepo(h.gitRoot, COMPONENT);
    // zero-os-{branch}.efi of branch master-generic is zero-os-master-generic.efi.
    const sha = component.commit('master-generic', { 'build.sh': BUILD_SCRIPT });
    const build = await pushTo(COMPONENT, 'branch', 'master-generic', sha);
    assert.equal(build.state, 'failed');
    assert.equal(
      build.reason,
      `name ${MASTER_KERNEL_LINK} belongs to branch master of ${REPOSITORY} (build #${masterBuild.id})`,
    );
    assert.deepEqual(await masterState(), master);
    // The same ref of another repository may share a name (Zero-OS components share zero-os-{branch}.efi).
    const own = await pushTo(
      COMPONENT,
      'branch',
      'master',
      component.commit('master', { 'build.sh': BUILD_SCRIPT }),
    );
    assert.equal(own.state, 'success', own.reason ?? '');
    assert.deepEqual(await masterState(), master);
  });

  it('an old signed body replayed with a new delivery id answers its build and rolls nothing back', async () => {
    const previous = masterBuild.commit;
    const sha = repo.commit('master', { 'build.sh': BUILD_SCRIPT, newer: '1' });
    const newer = await push('branch', 'master', sha, previous);
    const now = await masterState();
    assert.equal(now.link, newer.artifact);
    const before = (await h.service.store.listHistory({ limit: 500 })).builds.length;

    const replay = await post(masterBody);
    assert.equal(replay.duplicate, true);
    assert.equal(replay.id, masterBuild.id);
    assert.equal((await h.service.store.listActive()).length, 0, 'nothing was queued');
    assert.equal((await h.service.store.listHistory({ limit: 500 })).builds.length, before);
    assert.deepEqual(await masterState(), now, 'link, kernel and image stay at the newer commit');

    // A genuine force-push back to the older commit (GitHub's `before` is the newer one) builds.
    const back = await push('branch', 'master', previous, sha);
    assert.notEqual(back.id, masterBuild.id);
    assert.equal((await masterState()).link, masterBuild.artifact);
  });
});
