/**
 * Build caches on a real Docker engine (rule `cache:`, network none): the next build of a branch
 * finds what the last one left; a new branch starts from master's cache; a pull request reads the
 * base's cache and cannot write it; gc removes caches past `cache_max_size` and keeps the one a
 * running build mounts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Build, RefType } from '../../src/domain/build.js';
import { cacheVolumeName } from '../../src/domain/cache.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { INSTANCE_LABEL } from '../../src/executor/executor.js';
import { INSTANCE_FILE, serviceInstance } from '../../src/config/service-instance.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal, type Harness } from '../helpers/harness.js';

const INSTANCE = `build-caches-${process.pid}`;
const REPOSITORY = 'acme/cached';
const CACHE = '/var/cache/x';
const SCRIPT = [
  `if [ -f ${CACHE}/stamp ]; then echo "cache hit: $(cat ${CACHE}/stamp)"; else echo "cache miss"; fi`,
  `if echo "$AUTOBUILD_BRANCH" > ${CACHE}/stamp; then echo "cache written"; else echo "cache not writable"; fi`,
  `if [ "$AUTOBUILD_BRANCH" = busy ]; then echo holding; while [ ! -e /src/never ]; do sleep 1; done; fi`,
].join('\n');

/** Our volumes on the engine, by name (filtered on this test's executor instance). */
function ourVolumes(): string[] {
  return execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=${INSTANCE_LABEL}=${INSTANCE}`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
}

describe('build caches on a real engine', () => {
  let h: Harness;
  let repo: LocalRepo;
  let instance: string;

  before(async () => {
    await requireDocker();
    // The service's instance id is the executor's: `autobuilder gc` (another process) finds them.
    const home = mkdtempSync(join(tmpdir(), 'ab-home-'));
    mkdirSync(join(home, 'data'));
    writeFileSync(join(home, 'data', INSTANCE_FILE), `${INSTANCE}\n`);
    h = await startHarness({
      home,
      executor: new DockerExecutor(undefined, INSTANCE),
      repositories: {
        [REPOSITORY]: {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          cache: [CACHE],
          steps: ['sh /src/build.sh'],
          timeout: '3m',
        },
      },
    });
    instance = serviceInstance(h.config);
    repo = new LocalRepo(h.gitRoot, REPOSITORY);
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
    for (const volume of ourVolumes()) execFileSync('docker', ['volume', 'rm', '-f', volume]);
  });

  async function build(branch: string, refType: RefType = 'branch'): Promise<{ build: Build; log: string }> {
    const commit = repo.commit(branch.startsWith('pr-') ? 'master' : branch, { 'build.sh': SCRIPT });
    const { build: queued } = await h.service.scheduler.enqueue({
      project: 't',
      repository: REPOSITORY,
      refType,
      branch,
      commit,
      kind: 'full',
      pusher: null,
      deliveryId: null,
      commits: [],
    });
    const done = await waitForFinal(h, queued.id, 60_000);
    return { build: done, log: readFileSync(done.logPath!, 'utf8') };
  }

  const volumeOf = (refType: RefType, branch: string) =>
    cacheVolumeName(instance, REPOSITORY, CACHE, { refType, branch });

  it('the next build of a branch finds what the last one left in its cache', async () => {
    const first = await build('master');
    assert.equal(first.build.state, 'success', first.log);
    assert.match(first.log, /cache miss/);
    assert.match(first.log, /cache written/);
    const second = await build('master');
    assert.equal(second.build.state, 'success', second.log);
    assert.match(second.log, /cache hit: master/);
    assert.ok(ourVolumes().includes(volumeOf('branch', 'master')));
  });

  it("a new branch's cache starts as a copy of master's, and is its own from then on", async () => {
    const first = await build('feature/x');
    assert.equal(first.build.state, 'success', first.log);
    assert.match(first.log, /seeded from branch:master/);
    assert.match(first.log, /cache hit: master/);
    const master = await build('master');
    assert.match(master.log, /cache hit: master/, "the branch's write stays in the branch's cache");
    const again = await build('feature/x');
    assert.match(again.log, /cache hit: feature\/x/);
    assert.doesNotMatch(again.log, /seeded/, 'seeded once, on first use');
    assert.notEqual(volumeOf('branch', 'feature/x'), volumeOf('branch', 'master'));
  });

  it("a pull request reads the base branch's cache and cannot write it", async () => {
    const pr = await build('pr-7', 'pull' as RefType);
    assert.match(pr.log, /cache hit: master/);
    assert.match(pr.log, /cache not writable/);
    assert.match(pr.log, /read-only/);
    assert.ok(!ourVolumes().includes(volumeOf('pull' as RefType, 'pr-7')), 'no cache of its own');
    const master = await build('master');
    assert.match(master.log, /cache hit: master/, "master's cache is as master left it");
  });

  it('GET /api/caches and the repository page show each cache with its size', async () => {
    const url = await h.listen();
    const response = await fetch(`${url}/api/caches?repository=${REPOSITORY}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      caches: { ref: string; path: string; volume: string; sizeBytes: number | null; lastUsedAt: string }[];
      repositories: { repository: string; engine: string; caches: number; sizeBytes: number }[];
    };
    const master = body.caches.find((c) => c.volume === volumeOf('branch', 'master'));
    assert.equal(master?.ref, 'branch:master');
    assert.equal(master.path, CACHE);
    assert.ok(master.sizeBytes !== null && master.sizeBytes > 0, 'measured by the engine');
    assert.ok(Date.parse(master.lastUsedAt) > Date.now() - 10 * 60_000);
    assert.deepEqual(
      body.caches.map((c) => c.ref).sort(),
      ['branch:feature/x', 'branch:master'],
      'the pull request made none',
    );
    assert.equal(body.repositories.length, 1);
    assert.equal(body.repositories[0]!.caches, 2);
    const bad = await fetch(`${url}/api/caches?repository=not-a-name`);
    assert.equal(bad.status, 400);
    const page = await (await fetch(`${url}/monitor/${REPOSITORY}`)).text();
    assert.match(page, /<h2>Build caches<\/h2>/);
    assert.match(page, /branch:feature\/x/);
    assert.match(page, /<td class="size">\d+(\.\d)? (bytes|KiB)<\/td>/);
  });

  it('gc removes caches past cache_max_size and keeps those a running build mounts or seeds from', async () => {
    const repoDone = repo.commit('busy', { 'build.sh': SCRIPT });
    const { build: busy } = await h.service.scheduler.enqueue({
      project: 't',
      repository: REPOSITORY,
      refType: 'branch',
      branch: 'busy',
      commit: repoDone,
      kind: 'full',
      pusher: null,
      deliveryId: null,
      commits: [],
    });
    await waitFor(async () => {
      const running = await h.service.store.getBuild(busy.id);
      return Boolean(running?.logPath && readFileSync(running.logPath, 'utf8').includes('holding'));
    }, 60_000);
    // Every cache holds a few bytes: a limit of one byte leaves room for none.
    h.config.caches.maxBytes = 1;
    const result = await h.service.gc();
    const left = ourVolumes();
    assert.ok(left.includes(volumeOf('branch', 'busy')), 'the running build keeps its cache');
    assert.ok(left.includes(volumeOf('branch', 'master')), 'and the cache it was seeded from');
    assert.ok(!left.includes(volumeOf('branch', 'feature/x')), 'a cache past the limit is removed');
    assert.equal(result.caches, 1);
    const uses = (await h.service.store.listCacheUses()).map((u) => u.volume).sort();
    assert.deepEqual(uses, [volumeOf('branch', 'busy'), volumeOf('branch', 'master')].sort());
    await h.service.scheduler.cancel(busy.id);
    await waitForFinal(h, busy.id, 60_000);
    // The build is over: nothing holds its caches any more.
    const again = await h.service.gc();
    assert.equal(again.caches, 2);
    assert.deepEqual(ourVolumes(), []);
    assert.deepEqual(await h.service.store.listCacheUses(), [], 'removed caches are forgotten');
  });

  it('`autobuilder gc` in another process prunes caches by the config file', async () => {
    const master = await build('master');
    assert.equal(master.build.state, 'success', master.log);
    assert.deepEqual(ourVolumes(), [volumeOf('branch', 'master')]);
    writeFileSync(h.file, `${readFileSync(h.file, 'utf8')}cache_max_size: 1\n`);
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', h.file, 'gc'], {
      cwd: join(import.meta.dirname, '..', '..'),
      encoding: 'utf8',
    });
    assert.match(out, /, 1 caches \(/);
    assert.deepEqual(ourVolumes(), []);
    assert.deepEqual(await h.service.store.listCacheUses(), []);
  });
});
