/**
 * The built-in Zero-OS profiles on the real Docker engine, through signed webhooks. Each harness
 * loads a built-in profile and swaps only what a test machine cannot have: the Ubuntu image (a
 * local busybox stand-in with `bash` and a no-op `apt-get`) and the network (`none`). The stand-in
 * repositories' autobuild scripts have the real interface (docs/zero-os.md): exit 1 with "missing
 * remote version or repository name" without two arguments, work in `/$2`, and copy
 * `/$2/staging/vmlinuz.efi` to `/target/`.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, symlinkSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { THREEFOLD } from '../../src/config/profiles/threefold.js';
import { ZERO_OS_V1 } from '../../src/config/profiles/zero-os-v1.js';
import type { RawConfig } from '../../src/config/schema.js';
import { isFinal, type Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { ourContainers, removeImages, requireDocker } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { makeUbuntuStandIn } from '../helpers/ubuntu-stand-in.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'profiles-secret';
const STAND_IN = `autobuilder-test/ubuntu-stand-in-${process.pid}:latest`;
const ARGS_CHECK = [
  '#!/bin/bash',
  'set -e',
  'if [ "$1" == "" ] || [ "$2" == "" ]; then',
  '    echo "[-] missing remote version or repository name"',
  '    exit 1',
  'fi',
  'mkdir -p /target',
  'rm -rf /target/*',
];
const INSTALL_KERNEL = ['mkdir -p /target', 'cp "/$2/staging/vmlinuz.efi" /target/'];

/** gig-build.sh / tf-build.sh: the initramfs build, in the checkout `/$2`; `$3` = release (tf). */
const INITRAMFS_SCRIPT = [
  ...ARGS_CHECK,
  'arguments="--all --compact"',
  'if [ "$3" = "release" ]; then arguments="--release"; fi',
  'cd "/$2"',
  'mkdir -p staging extensions/initramfs-gig',
  'echo "initramfs $1 $(cat VERSION)" > "/$2/staging/base"',
  'echo "kernel initramfs $1 $(cat VERSION) $arguments" > "/$2/staging/vmlinuz.efi"',
  ...INSTALL_KERNEL,
].join('\n');

/** gig-build-cores.sh / tf-build-zfs.sh: a component, built in the base image's initramfs `/$2`. */
const COMPONENT_SCRIPT = [
  ...ARGS_CHECK,
  'test -d "/$2/extensions/initramfs-gig"',
  'cd "/$2"',
  'echo "kernel $AUTOBUILD_CHECKOUT_NAME $1 on $(cat staging/base) with $(cat "/$AUTOBUILD_CHECKOUT_NAME/VERSION")" > "/$2/staging/vmlinuz.efi"',
  ...INSTALL_KERNEL,
].join('\n');

type Rules = RawConfig['repositories'];
/** The profile's rules with the stand-in image and no network: nothing else changes. */
const onTestEngine = (rules: Rules): Rules =>
  Object.fromEntries(
    Object.entries(rules).map(([name, rule]) => [
      name,
      { ...rule, ...(rule.image ? { image: STAND_IN } : {}), network: 'none' },
    ]),
  );

let docker: Docker;
before(async () => {
  docker = await requireDocker();
  await makeUbuntuStandIn(docker, STAND_IN);
});
after(async () => {
  if (docker)
    await docker
      .getImage(STAND_IN)
      .remove({ force: true })
      .catch(() => undefined);
});

interface Pusher {
  h: Harness;
  /** The executor's instance label: the containers of this harness, and no other test's. */
  instance: string;
  push(repository: string, ref: string, commit: string): Promise<Build>;
}

async function startProfile(profile: string, repositories: Rules): Promise<Pusher> {
  const instance = `profiles-${process.pid}-${profile}`;
  const h = await startHarness({
    token: SECRET,
    executor: new DockerExecutor(docker, instance),
    repositories,
    extra: { profile },
  });
  await h.listen();
  let delivery = 0;
  return {
    h,
    instance,
    async push(repository, ref, commit) {
      const [, type, name = ''] = /^refs\/(heads|tags)\/(.+)$/.exec(ref) ?? [];
      assert.ok(type, ref);
      const body = JSON.stringify(pushPayload({ repository, branch: name, commit, ref }));
      const response = await fetch(`${h.url}/build/profiles/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body, { secret: SECRET, delivery: `profiles-${process.pid}-${++delivery}` }),
      });
      assert.equal(response.status, 202, await response.clone().text());
      const { id } = (await response.json()) as { id: number };
      return waitFor(async () => {
        const build = await h.service.store.getBuild(id);
        return build && isFinal(build.state) ? build : undefined;
      }, 120_000);
    },
  };
}

const logOf = (build: Build) => readFileSync(build.logPath!, 'utf8');
const succeeded = (build: Build) => assert.equal(build.state, 'success', `${build.reason}\n${logOf(build)}`);
const mine = (p: Pusher) =>
  ourContainers().filter((line) => line.includes(`org.zero-os.autobuilder.instance=${p.instance}`));

describe('profile zero-os-v1 (the default) on the real engine', () => {
  let p: Pusher;
  let initramfs: LocalRepo;
  const kernel = (name: string) => readFileSync(join(p.h.config.kernelTarget, name), 'utf8');
  const link = (name: string) => readlinkSync(join(p.h.config.kernelTarget, name));

  before(async () => {
    await removeImages(docker, 'zero-os/initramfs');
    await removeImages(docker, 'autobuilder-profiles/part');
    p = await startProfile('zero-os-v1', {
      ...onTestEngine(ZERO_OS_V1),
      // The seed's one-argument call, against the same script: proves the stand-in's interface.
      'acme/one-argument': {
        image: STAND_IN,
        network: 'none',
        checkout: '/initramfs',
        steps: ['bash /initramfs/autobuild/gig-build.sh "$AUTOBUILD_BRANCH"'],
      },
      'acme/never': {
        image: STAND_IN,
        network: 'none',
        checkout: '/src',
        steps: ['true'],
        commit: 'autobuilder-profiles/never:{branch}',
      },
      'acme/part': {
        base: 'acme/never',
        base_missing: 'full',
        image: STAND_IN,
        network: 'none',
        checkout: '/src',
        steps: ['test ! -e /opt/from-base', 'echo "full $AUTOBUILD_BRANCH" > /target/vmlinuz.efi'],
        commit: 'autobuilder-profiles/part:{branch}',
        publish: 'part-{branch}-{short}.efi',
      },
    });
  });
  after(async () => {
    await p?.h.close();
    if (p) removeHome(p.h);
    await removeImages(docker, 'zero-os/initramfs');
    await removeImages(docker, 'autobuilder-profiles/part');
  });

  it('the scripts refuse one argument, as the real ones do', async () => {
    const repo = new LocalRepo(p.h.gitRoot, 'acme/one-argument');
    const build = await p.push(
      'acme/one-argument',
      'refs/heads/master',
      repo.commit('master', {
        'autobuild/gig-build.sh': INITRAMFS_SCRIPT,
        VERSION: 'x',
      }),
    );
    assert.equal(build.state, 'failed');
    assert.match(build.reason ?? '', /exited with code 1$/);
    assert.match(logOf(build), /^\[-\] missing remote version or repository name$/m);
  });

  it('initramfs builds full with both arguments; core0 builds on its image', async () => {
    initramfs = new LocalRepo(p.h.gitRoot, 'zero-os/initramfs');
    const sha = initramfs.commit('master', {
      'autobuild/gig-build.sh': INITRAMFS_SCRIPT,
      'autobuild/gig-build-cores.sh': COMPONENT_SCRIPT,
      VERSION: 'i1',
    });
    const full = await p.push('zero-os/initramfs', 'refs/heads/master', sha);
    succeeded(full);
    assert.equal(full.kind, 'full');
    assert.equal(full.image, 'zero-os/initramfs:master');
    const name = `zero-os-master-generic-${sha.slice(0, 8)}.efi`;
    assert.equal(kernel(name), 'kernel initramfs master i1 --all --compact\n');
    assert.equal(link('zero-os-master-generic.efi'), name);

    const core0 = new LocalRepo(p.h.gitRoot, 'zero-os/core0');
    const coreSha = core0.commit('master', { VERSION: 'c1' });
    const incremental = await p.push('zero-os/core0', 'refs/heads/master', coreSha);
    succeeded(incremental);
    assert.equal(incremental.kind, 'incremental');
    assert.match(logOf(incremental), /==> image zero-os\/initramfs:master/);
    const coreName = `zero-os-master-core0-${coreSha.slice(0, 8)}.efi`;
    assert.equal(kernel(coreName), 'kernel core0 master on initramfs master i1 with c1\n');
    assert.equal(link('zero-os-master.efi'), coreName);
    assert.deepEqual(mine(p), []);
  });

  it('a tag push is a release: its own kernel and the release link, the branch link unchanged', async () => {
    const before = link('zero-os-master-generic.efi');
    const sha = initramfs.commit('v2.0', { VERSION: 'i2' });
    const tag = await p.push('zero-os/initramfs', 'refs/tags/v2.0', sha);
    succeeded(tag);
    const name = `zero-os-tag-v2.0-generic-${sha.slice(0, 8)}.efi`;
    assert.equal(tag.artifact, name);
    assert.equal(link('release-zero-os-generic.efi'), name);
    assert.equal(link('zero-os-master-generic.efi'), before);
    assert.match(logOf(tag), /\(release link release-zero-os-generic\.efi\)/);
  });

  it('base_missing: full builds from its image when the base never built, and commits it', async () => {
    const part = new LocalRepo(p.h.gitRoot, 'acme/part');
    const build = await p.push('acme/part', 'refs/heads/master', part.commit('master', { a: '1' }));
    succeeded(build);
    assert.match(logOf(build), /no base image of acme\/never for branch master: full build from /);
    assert.match(logOf(build), new RegExp(`==> image ${STAND_IN}`));
    assert.equal(build.image, 'autobuilder-profiles/part:master');
    await docker.getImage('autobuilder-profiles/part:master').inspect();
    assert.equal(kernel(build.artifact!), 'full master\n');
  });
});

describe('profile threefold on the real engine', () => {
  let p: Pusher;
  const kernel = (name: string) => readFileSync(join(p.h.config.kernelTarget, name), 'utf8');
  const link = (name: string) => readlinkSync(join(p.h.config.kernelTarget, name));
  let initramfs: LocalRepo;
  let fs: LocalRepo;

  before(async () => {
    await removeImages(docker, 'threefoldtech/0-initramfs');
    p = await startProfile('threefold', onTestEngine(THREEFOLD));
    initramfs = new LocalRepo(p.h.gitRoot, 'threefoldtech/0-initramfs');
  });
  after(async () => {
    await p?.h.close();
    if (p) removeHome(p.h);
    await removeImages(docker, 'threefoldtech/0-initramfs');
  });

  /** The old name of a renamed repository serves the same git repository (GitHub redirects). */
  const oldName = (repo: LocalRepo, alias: string) => {
    const path = join(p.h.gitRoot, `${alias}.git`);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(repo.bare, path);
  };

  it('0-initramfs builds full with tf-build.sh; 0-fs builds on its image with tf-build-zfs.sh', async () => {
    const sha = initramfs.commit('master', {
      'autobuild/tf-build.sh': INITRAMFS_SCRIPT,
      'autobuild/tf-build-zfs.sh': COMPONENT_SCRIPT,
      VERSION: 't1',
    });
    const full = await p.push('threefoldtech/0-initramfs', 'refs/heads/master', sha);
    succeeded(full);
    assert.equal(full.image, 'threefoldtech/0-initramfs:master');
    const name = `zero-os-master-generic-${sha.slice(0, 8)}.efi`;
    assert.equal(kernel(name), 'kernel initramfs master t1 --all --compact\n');
    assert.equal(link('zero-os-master-generic.efi'), name);

    fs = new LocalRepo(p.h.gitRoot, 'threefoldtech/0-fs');
    const fsSha = fs.commit('master', { VERSION: 'f1' });
    const incremental = await p.push('threefoldtech/0-fs', 'refs/heads/master', fsSha);
    succeeded(incremental);
    assert.match(logOf(incremental), /==> image threefoldtech\/0-initramfs:master/);
    const fsName = `zero-os-master-0-fs-${fsSha.slice(0, 8)}.efi`;
    assert.equal(kernel(fsName), 'kernel 0-fs master on initramfs master t1 with f1\n');
    assert.equal(link('zero-os-master.efi'), fsName);
    assert.deepEqual(mine(p), []);
  });

  it('a tag push passes "release" to tf-build.sh and moves only the release link', async () => {
    const before = link('zero-os-master-generic.efi');
    const sha = initramfs.commit('v3.1', { VERSION: 't2' });
    const tag = await p.push('threefoldtech/0-initramfs', 'refs/tags/v3.1', sha);
    succeeded(tag);
    const name = `zero-os-tag-v3.1-generic-${sha.slice(0, 8)}.efi`;
    assert.equal(kernel(name), 'kernel initramfs v3.1 t2 --release\n');
    assert.equal(link('release-zero-os-generic.efi'), name);
    assert.equal(link('zero-os-master-generic.efi'), before);
    assert.equal(tag.image, 'threefoldtech/0-initramfs:tag-v3.1');
  });

  it('pushes under the old names build with the rule and are recorded under the name they came with', async () => {
    oldName(initramfs, 'zero-os/initramfs');
    const sha = initramfs.commit('master', { VERSION: 't3' });
    const aliased = await p.push('zero-os/initramfs', 'refs/heads/master', sha);
    succeeded(aliased);
    assert.equal(aliased.repository, 'zero-os/initramfs');
    assert.equal(aliased.kind, 'full');
    assert.equal(aliased.image, 'threefoldtech/0-initramfs:master');
    assert.equal(link('zero-os-master-generic.efi'), `zero-os-master-generic-${sha.slice(0, 8)}.efi`);

    oldName(fs, 'zero-os/0-fs');
    const fsSha = fs.commit('master', { VERSION: 'f2' });
    const aliasedFs = await p.push('zero-os/0-fs', 'refs/heads/master', fsSha);
    succeeded(aliasedFs);
    assert.equal(aliasedFs.repository, 'zero-os/0-fs');
    // Names come from the rule, so the old name publishes what the new one would.
    const fsName = `zero-os-master-0-fs-${fsSha.slice(0, 8)}.efi`;
    assert.equal(aliasedFs.artifact, fsName);
    assert.equal(kernel(fsName), 'kernel 0-fs master on initramfs master t3 with f2\n');
  });
});
