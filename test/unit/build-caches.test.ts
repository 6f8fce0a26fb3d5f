/**
 * Build caches, the decisions: volume names, what a build mounts, which paths config accepts,
 * that the repository file cannot set or undermine them, which caches gc removes, and that a
 * cache is seeded once when two builds of a new branch start together (fake executor).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cachesToPrune, pruneCaches, type CacheEntry } from '../../src/artifacts/cache-retention.js';
import { loadConfig, type ConfigProblem } from '../../src/config/load-config.js';
import { applyRepositoryFile } from '../../src/config/repository-file.js';
import type { RefType } from '../../src/domain/build.js';
import {
  CACHE_LABEL,
  cachePathProblem,
  cachePlan,
  cacheVolumeName,
  warmCacheEngines,
} from '../../src/domain/cache.js';
import type { Build } from '../../src/domain/build.js';
import { Engine } from '../../src/executor/engine.js';
import { chooseEngine } from '../../src/scheduler/placement.js';
import type { BuildRule } from '../../src/domain/rule.js';
import { AppError } from '../../src/errors.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { prepareCaches } from '../../src/pipeline/build-caches.js';
import { makeBuild, makeRule } from '../helpers/build-fixture.js';

const DOCKER_VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

describe('cache volume names', () => {
  it('differ for every ref, repository, path and service, and are valid Docker volume names', () => {
    const refs: [RefType, string][] = [
      ['branch', 'master'],
      ['tag', 'master'],
      ['branch', 'feature/x'],
      ['branch', 'feature_2fx'],
      ['branch', 'tag-x'],
      ['tag', 'x'],
      ['branch', 'a'.repeat(300)],
      ['branch', `${'a'.repeat(300)}b`],
      ['branch', 'é'],
    ];
    const names = new Set<string>();
    for (const [refType, branch] of refs)
      for (const repository of ['acme/os', 'acme/os2'])
        for (const path of ['/var/cache/apt', '/root/.cache'])
          for (const instance of ['one', 'two']) {
            const name = cacheVolumeName(instance, repository, path, { refType, branch });
            assert.match(name, DOCKER_VOLUME_NAME);
            assert.ok(name.length <= 255, name);
            names.add(name);
          }
    assert.equal(names.size, refs.length * 2 * 2 * 2);
    // GitHub names ignore case: a push for ACME/OS uses acme/os's cache.
    assert.equal(
      cacheVolumeName('one', 'ACME/OS', '/c', { refType: 'branch', branch: 'x' }),
      cacheVolumeName('one', 'acme/os', '/c', { refType: 'branch', branch: 'x' }),
    );
  });
});

describe('cache plan', () => {
  const master = { refType: 'branch' as RefType, branch: 'master' };
  it('master writes its own; a branch or tag its own seeded from master; a pull request reads its base', () => {
    const rows: [Parameters<typeof cachePlan>[0], ReturnType<typeof cachePlan>[number]][] = [
      [
        { refType: 'branch', branch: 'master' },
        { path: '/c', ref: master, readOnly: false, seedFrom: null },
      ],
      [
        { refType: 'branch', branch: 'dev' },
        { path: '/c', ref: { refType: 'branch', branch: 'dev' }, readOnly: false, seedFrom: master },
      ],
      [
        { refType: 'tag', branch: 'master' },
        { path: '/c', ref: { refType: 'tag', branch: 'master' }, readOnly: false, seedFrom: master },
      ],
      [
        { refType: 'pull' as RefType, branch: 'pr-7' },
        { path: '/c', ref: master, readOnly: true, seedFrom: null },
      ],
      [
        { refType: 'pull' as RefType, branch: 'pr-8', pull: { baseBranch: 'dev' } },
        { path: '/c', ref: { refType: 'branch', branch: 'dev' }, readOnly: true, seedFrom: null },
      ],
    ];
    for (const [build, expected] of rows) assert.deepEqual(cachePlan(build, ['/c']), [expected]);
    assert.deepEqual(cachePlan({ refType: 'branch', branch: 'dev' }, []), []);
  });
});

function configProblems(cache: unknown, checkout = '/src'): ConfigProblem[] {
  const dir = mkdtempSync(join(tmpdir(), 'ab-cache-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(
    file,
    JSON.stringify({ repositories: { 'acme/os': { image: 'x', checkout, steps: ['true'], cache } } }),
  );
  try {
    loadConfig({ file, env: {}, cwd: dir });
    return [];
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error.details as ConfigProblem[];
  }
}

describe('cache config', () => {
  it('accepts absolute, normalized paths clear of /, /target and the source', () => {
    assert.deepEqual(configProblems(['/var/cache/apt', '/root/.cache', '/initramfs-archives']), []);
    const config = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'ab-cache-')) });
    assert.deepEqual(config.caches, { maxBytes: 20 * 1024 ** 3, maxAgeMs: 14 * 86_400_000 });
  });

  it('refuses every other path with its key path and a clear reason', () => {
    const rows: [string, RegExp][] = [
      ['var/cache', /absolute/],
      ['/', /must not be "\/"/],
      ['/target', /\/target/],
      ['/target/cache', /\/target/],
      ['/var/cache/', /normalized: "\/var\/cache"/],
      ['/var/../cache', /normalized: "\/cache"/],
      ['/var//cache', /normalized: "\/var\/cache"/],
      ['/src', /source directory \/src/],
      ['/src/.cache', /source directory \/src/],
      ['/srv', null as unknown as RegExp],
    ];
    for (const [path, message] of rows) {
      const problems = configProblems([path]);
      if (!message) {
        assert.deepEqual(problems, [], path);
        continue;
      }
      assert.equal(problems.length, 1, `${path}: ${JSON.stringify(problems)}`);
      assert.equal(problems[0]!.path, 'repositories.acme/os.cache.0');
      assert.match(problems[0]!.message, message, path);
    }
    // A cache that holds the source directory would keep the source between builds.
    assert.match(configProblems(['/work'], '/work/src')[0]!.message, /source directory/);
    assert.match(configProblems(['/a', '/a/b'])[0]!.message, /overlaps cache path \/a/);
    assert.equal(configProblems(['/a', '/a/b'])[0]!.path, 'repositories.acme/os.cache.1');
  });

  it('the repository file may neither set caches nor move the source onto one', () => {
    const rule = makeRule({ cache: ['/var/cache/apt'] });
    const rules = new Map([['acme/os', rule]]);
    const set = applyRepositoryFile(rule, 'cache: [/etc]\n', rules);
    assert.ok(!set.ok);
    assert.deepEqual(set.problems, [
      { path: 'cache', message: "set by the server's rule only, not by .autobuilder.yaml" },
    ]);
    const moved = applyRepositoryFile(rule, 'checkout: /var/cache\n', rules);
    assert.ok(!moved.ok);
    assert.equal(moved.problems[0]!.path, 'checkout');
    assert.match(moved.problems[0]!.message, /cache path \/var\/cache\/apt must not overlap the source/);
    assert.ok(applyRepositoryFile(rule, 'checkout: /elsewhere\n', rules).ok);
    assert.equal(cachePathProblem('/var/cache/apt', '/elsewhere/'), null);
  });
});

describe('which caches gc removes', () => {
  const GiB = 1024 ** 3;
  const day = 86_400_000;
  const now = 100 * day;
  const entry = (
    volume: string,
    lastUsedDaysAgo: number,
    sizeGiB: number,
    extra: Partial<CacheEntry> = {},
  ) => ({
    engine: 'a',
    volume,
    repository: 'acme/os',
    path: '/c',
    ref: 'branch:x',
    sizeBytes: sizeGiB * GiB,
    lastUsed: now - lastUsedDaysAgo * day,
    inUse: false,
    ...extra,
  });
  const pruned = (entries: CacheEntry[], maxGiB = 20, maxAgeDays = 14) =>
    cachesToPrune(entries, { maxBytes: maxGiB * GiB, maxAgeMs: maxAgeDays * day, now }).map((e) => e.volume);

  it('unused past the age, then oldest first until the engine fits; never one in use', () => {
    assert.deepEqual(pruned([entry('new', 1, 5), entry('old', 15, 1)]), ['old']);
    assert.deepEqual(pruned([entry('a', 3, 8), entry('b', 2, 8), entry('c', 1, 8)]), ['a']);
    assert.deepEqual(pruned([entry('a', 3, 8), entry('b', 2, 8), entry('c', 1, 8)], 10), ['a', 'b']);
    assert.deepEqual(
      pruned([entry('busy', 30, 30, { inUse: true }), entry('b', 2, 1), entry('c', 1, 1)], 10),
      ['b', 'c'],
      'a cache in use is kept even when it alone is past the limit',
    );
    assert.deepEqual(pruned([entry('unknown', 1, 0, { sizeBytes: null }), entry('small', 1, 1)]), []);
  });

  it('counts the limit per engine', () => {
    assert.deepEqual(pruned([entry('a1', 2, 15), entry('b1', 1, 15, { engine: 'b' }), entry('a2', 1, 15)]), [
      'a1',
    ]);
  });
});

describe('gc racing a build start', () => {
  it('keeps a cache whose build started while the engines were listed', async () => {
    // The build is `running` before it prepares its caches; gc lists volumes (a slow /system/df)
    // meanwhile. Removing the cache then would let the engine make an empty, unlabelled volume
    // of that name at container start, which gc would never see again.
    const executor = new FakeExecutor(['img']);
    const volume = cacheVolumeName('i', 'acme/os', '/c', { refType: 'branch', branch: 'dev' });
    await executor.createVolume(volume, { [CACHE_LABEL]: 'acme/os' });
    let running: Build[] = [];
    const list = executor.listVolumes.bind(executor);
    executor.listVolumes = async () => {
      const volumes = await list();
      running = [makeBuild({ branch: 'dev', state: 'running' })];
      return volumes;
    };
    const rule = { repository: 'acme/os', cache: ['/c'] } as BuildRule;
    const result = await pruneCaches({
      engines: [{ name: 'local', executor }],
      store: {
        listRunning: async () => running,
        listCacheUses: async () => [],
        forgetCache: async () => undefined,
      },
      rules: { get: () => rule, has: () => true },
      instance: 'i',
      maxBytes: 0,
      maxAgeMs: 0,
      now: Date.now() + 1000,
    });
    assert.equal(result.caches, 0);
    assert.ok(await executor.hasVolume(volume), 'the running build keeps its cache');
  });
});

describe('preparing caches', () => {
  it('seeds a new branch cache once when two builds of it start together', async () => {
    const executor = new FakeExecutor(['img']);
    const copies: string[] = [];
    const copy = executor.copyVolume.bind(executor);
    executor.copyVolume = async (from, to, image) => {
      copies.push(to);
      await new Promise((resolve) => setImmediate(resolve));
      return copy(from, to, image);
    };
    const rule = { repository: 'acme/os', cache: ['/c'] } as BuildRule;
    const deps = { executor, instance: 'i', engine: 'local' };
    const seed = cacheVolumeName('i', 'acme/os', '/c', { refType: 'branch', branch: 'master' });
    await executor.createVolume(seed, {});
    const lines: string[] = [];
    const signal = new AbortController().signal;
    const build = makeBuild({ branch: 'dev' });
    const [one, two] = await Promise.all([
      prepareCaches(deps, build, rule, 'img', (l) => lines.push(l), signal),
      prepareCaches(deps, build, rule, 'img', (l) => lines.push(l), signal),
    ]);
    assert.deepEqual(one, two);
    assert.deepEqual(one, [
      {
        volume: cacheVolumeName('i', 'acme/os', '/c', { refType: 'branch', branch: 'dev' }),
        target: '/c',
        readOnly: false,
      },
    ]);
    assert.equal(copies.length, 1);
    assert.deepEqual(lines, ["cache /c: new, seeded from branch:master's"]);
  });
});

describe('placement towards a warm cache', () => {
  it('among equally loaded engines the one holding the build cache wins; load and image come first', async () => {
    const engines = ['a', 'b', 'c'].map((name) => new Engine(name, 'fake://', 2, new FakeExecutor()));
    const use = (engine: string, branch: string) => ({
      engine,
      repository: 'acme/os',
      refType: 'branch',
      branch,
    });
    const uses = [use('b', 'master'), use('c', 'dev'), { ...use('a', 'dev'), repository: 'acme/other' }];
    assert.deepEqual([...warmCacheEngines(uses, 'acme/os', { refType: 'branch', branch: 'dev' })], ['c']);
    assert.deepEqual(
      [...warmCacheEngines(uses, 'acme/os', { refType: 'branch', branch: 'new' })],
      ['b'],
      "a new branch: the engine with master's cache, which seeds it",
    );
    assert.deepEqual(
      [...warmCacheEngines(uses, 'ACME/os', { refType: 'pull' as RefType, branch: 'pr-1' })],
      ['b'],
    );
    const warm = warmCacheEngines(uses, 'acme/os', { refType: 'branch', branch: 'dev' });
    assert.equal((await chooseEngine(engines, new Map(), null))?.name, 'a', 'no cache: the first');
    assert.equal((await chooseEngine(engines, new Map(), null, warm))?.name, 'c');
    assert.equal((await chooseEngine(engines, new Map([['c', 1]]), null, warm))?.name, 'a', 'load first');
  });
});
