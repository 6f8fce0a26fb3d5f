/**
 * Engines without Docker: the config keys, the pool's health rules and placement, on fake
 * executors (the same code runs on two real engines in test/integration/engines.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig, type ConfigProblem } from '../../src/config/load-config.js';
import { securityNotices } from '../../src/config/security-notices.js';
import { AppError } from '../../src/errors.js';
import { Engine } from '../../src/executor/engine.js';
import { EnginePool } from '../../src/executor/engine-pool.js';
import { ExecutorUnavailable } from '../../src/executor/executor.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { chooseEngine } from '../../src/scheduler/placement.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitFor, waitForFinal } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-engines-'));
const full = { image: 'x:1', checkout: '/src', steps: ['true'], commit: 'acme/base:{branch}' };
const incremental = { base: 'acme/base', checkout: '/src', steps: ['true'] };

function load(extra: Record<string, unknown>, repositories: Record<string, unknown> = { 'acme/base': full }) {
  const file = join(dir, `c-${Math.random()}.yaml`);
  writeFileSync(file, stringify({ repositories, ...extra }));
  return loadConfig({ file, env: {}, cwd: dir });
}

function problems(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.details as ConfigProblem[];
  }
  assert.fail('expected the config to be refused');
}

describe('engines in the config', () => {
  it('without engines: one local engine on the environment’s socket, capacity = concurrency', () => {
    const config = load({ concurrency: 3 });
    assert.deepEqual(config.engines, [
      { name: 'local', url: 'unix:///var/run/docker.sock', capacity: 3, fromEnvironment: true },
    ]);
    assert.equal(config.registry, null);
  });

  it('reads unix, tcp with TLS and ssh engines and a registry with a port', () => {
    const config = load({
      engines: [
        { name: 'local', url: 'unix:///var/run/docker.sock', capacity: 2 },
        { name: 'b2', url: 'tcp://build-2.example:2376', tls: { ca: '/c', cert: '/d', key: '/e' } },
        { name: 'b3', url: 'ssh://build@build-3.example' },
      ],
      registry: 'registry.example.org:5000',
    });
    assert.deepEqual(
      config.engines.map((e) => [e.name, e.capacity, Boolean(e.tls)]),
      [
        ['local', 2, false],
        ['b2', 1, true],
        ['b3', 1, false],
      ],
    );
    assert.equal(config.registry, 'registry.example.org:5000');
  });

  it('refuses two engines with incremental rules and no registry, naming the key', () => {
    const found = problems(() =>
      load(
        {
          engines: [
            { name: 'a', url: 'unix:///a.sock' },
            { name: 'b', url: 'unix:///b.sock' },
          ],
        },
        { 'acme/base': full, 'acme/inc': incremental },
      ),
    );
    assert.deepEqual(
      found.map((p) => p.path),
      ['registry'],
    );
    // The same engines with only full builds need none.
    assert.equal(
      load({
        engines: [
          { name: 'a', url: 'unix:///a.sock' },
          { name: 'b', url: 'unix:///b.sock' },
        ],
      }).engines.length,
      2,
    );
  });

  it('warns at start about a tcp:// engine without TLS', () => {
    const config = load({
      engines: [
        { name: 'plain', url: 'tcp://build-2.example:2375' },
        { name: 'safe', url: 'tcp://build-3.example:2376', tls: { ca: '/c', cert: '/d', key: '/e' } },
      ],
    });
    const engineNotices = securityNotices(config).filter((n) => n.startsWith('ENGINE'));
    assert.equal(engineNotices.length, 1);
    assert.match(engineNotices[0]!, /^ENGINE plain WITHOUT TLS: tcp:\/\/build-2.example:2375/);
  });

  it('ssh engines: a key file (relative to the config) and a pinned host key; unpinned ones warned about', () => {
    const pinned = `SHA256:${'x'.repeat(43)}`;
    const config = load({
      engines: [
        { name: 'pinned', url: 'ssh://build@b3:2222', ssh: { key: 'keys/id_ed25519', host_key: pinned } },
        { name: 'agent', url: 'ssh://build@b4' },
      ],
    });
    assert.deepEqual(
      config.engines.map((e) => e.ssh),
      [{ key: join(dir, 'keys/id_ed25519'), hostKey: pinned }, undefined],
    );
    const engineNotices = securityNotices(config).filter((n) => n.startsWith('ENGINE'));
    assert.equal(engineNotices.length, 1);
    assert.match(engineNotices[0]!, /^ENGINE agent HOST KEY NOT PINNED: .*ssh:\/\/build@b4/);
    const found = problems(() =>
      load({
        engines: [
          { name: 'a', url: 'unix:///a.sock', ssh: { key: '/k' } },
          { name: 'b', url: 'ssh://b', ssh: { host_key: 'MD5:aa:bb' } },
        ],
      }),
    );
    assert.deepEqual(found.map((p) => p.path).sort(), ['engines.0.ssh', 'engines.1.ssh.host_key']);
  });

  it('refuses duplicate names, TLS off tcp://, bad URLs and registries with a scheme', () => {
    const found = problems(() =>
      load({
        engines: [
          { name: 'a', url: 'unix:///a.sock', tls: { ca: '/c', cert: '/d', key: '/e' } },
          { name: 'a', url: 'http://host:2375' },
        ],
        registry: 'https://registry.example.org',
      }),
    );
    assert.deepEqual(found.map((p) => p.path).sort(), [
      'engines.0.tls',
      'engines.1.name',
      'engines.1.url',
      'registry',
    ]);
  });
});

describe('engine health and placement', () => {
  it('an engine silent for downAfterMs is marked down; calls through it then fail at once; it comes back', async () => {
    const fake = new FakeExecutor();
    const engine = new Engine('two', 'fake://', 1, fake);
    const pool = new EnginePool([new Engine('one', 'fake://', 1, new FakeExecutor()), engine], {
      intervalMs: 20,
      downAfterMs: 200,
      pingTimeoutMs: 50,
    });
    const changes: string[] = [];
    pool.onChange((e, up) => changes.push(`${e.name} ${up ? 'up' : 'down'}`));
    // A hung engine: ping never answers.
    let release!: () => void;
    fake.ping = () => new Promise<void>((resolve) => (release = resolve));
    const inFlight = engine.executor.ping().then(
      () => null,
      (error: unknown) => error,
    );
    pool.start();
    try {
      await waitFor(() => !engine.up, 5000);
      assert.deepEqual(changes, ['two down']);
      assert.match(engine.reason!, /no answer for 0s|no answer for \ds/);
      assert.ok(
        (await inFlight) instanceof ExecutorUnavailable,
        'a call in flight ends when the engine goes down',
      );
      await assert.rejects(engine.executor.listManaged(), /engine two is down/);
      fake.ping = async () => undefined;
      release();
      await waitFor(() => engine.up, 5000);
      assert.deepEqual(changes, ['two down', 'two up']);
      assert.deepEqual(await engine.executor.listManaged(), []);
    } finally {
      pool.stop();
    }
  });

  it('a refused ping after a failed build marks the engine down at once (confirm)', async () => {
    const fake = new FakeExecutor();
    const engine = new Engine('two', 'fake://', 1, fake);
    const pool = new EnginePool([engine, new Engine('one', 'fake://', 1, new FakeExecutor())]);
    assert.equal(await pool.confirm(engine), true);
    fake.available = false;
    assert.equal(await pool.confirm(engine), false);
    assert.equal(engine.up, false);
    assert.match(engine.reason!, /fake engine is down/);
  });

  it('prefers a free engine holding the image, else the least loaded; none free: null', async () => {
    const holding = new Set(['b']);
    const make = (name: string, capacity: number) =>
      new Engine(name, 'fake://', capacity, new FakeExecutor(), async () => holding.has(name));
    const [a, b, c] = [make('a', 2), make('b', 1), make('c', 1)];
    const engines = [a, b, c];
    assert.equal((await chooseEngine(engines, new Map(), 'img:1'))?.name, 'b');
    assert.equal((await chooseEngine(engines, new Map([['b', 1]]), 'img:1'))?.name, 'a');
    assert.equal((await chooseEngine(engines, new Map([['a', 1]]), null))?.name, 'b');
    b.markDown('test');
    assert.equal(
      await chooseEngine(
        engines,
        new Map([
          ['a', 2],
          ['c', 1],
        ]),
        'img:1',
      ),
      null,
    );
  });
});

describe('the scheduler over two engines (fake executors, real pipeline and SQLite)', () => {
  const rule = fakeRule(['echo hi']);

  it('with no engine up builds wait with the reason and /healthz is 503; the first engine back gets them', async () => {
    const [fa, fb] = [new FakeExecutor(), new FakeExecutor()];
    // No background pings: the test moves the engines itself.
    const pool = new EnginePool([new Engine('a', 'fake://a', 1, fa), new Engine('b', 'fake://b', 1, fb)], {
      intervalMs: 3_600_000,
      downAfterMs: 0,
      pingTimeoutMs: 1000,
    });
    const h = await startHarness({ engines: pool, concurrency: 2, repositories: { 'acme/x': rule } });
    try {
      for (const engine of pool.engines) pool.markDown(engine, 'test');
      const url = await h.listen();
      const repo = new LocalRepo(h.gitRoot, 'acme/x');
      const queued = await enqueuePush(h, 'acme/x', 'master', repo.commit('master', { a: '1' }));
      const reason = await waitFor(() => h.service.scheduler.waitReason(queued.id) ?? undefined);
      assert.equal(reason, 'build engine unavailable: no engine is up (a: test; b: test)');
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 503);
      assert.equal((await h.service.store.getBuild(queued.id))!.state, 'queued');
      fa.available = false;
      await pool.check();
      const build = await waitForFinal(h, queued.id);
      assert.equal(build.state, 'success', build.reason ?? '');
      assert.equal(build.engine, 'b');
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      await h.close();
      removeHome(h);
    }
  });

  it('never runs more builds on an engine than its capacity', async () => {
    const fakes = [new FakeExecutor(), new FakeExecutor()];
    let peak = 0;
    const pool = new EnginePool(
      fakes.map((f, i) => new Engine(`e${i}`, 'fake://', i + 1, f)),
      { intervalMs: 3_600_000, downAfterMs: 30_000, pingTimeoutMs: 1000 },
    );
    const h = await startHarness({
      engines: pool,
      concurrency: 10,
      repositories: { 'acme/x': { ...rule, steps: ['sleep 0.2'] } },
    });
    try {
      const repo = new LocalRepo(h.gitRoot, 'acme/x');
      const ids: number[] = [];
      for (const branch of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'])
        ids.push((await enqueuePush(h, 'acme/x', branch, repo.commit(branch, { b: branch }))).id);
      const sampler = setInterval(() => {
        const running = h.service.scheduler.runningPerEngine();
        for (const [name, count] of running) {
          const capacity = pool.get(name)!.capacity;
          assert.ok(count <= capacity, `${count} running on ${name} (capacity ${capacity})`);
        }
        peak = Math.max(
          peak,
          [...running.values()].reduce((a, b) => a + b, 0),
        );
      }, 5);
      const builds = await Promise.all(ids.map((id) => waitForFinal(h, id)));
      clearInterval(sampler);
      assert.deepEqual(
        builds.map((b) => b.state),
        Array(6).fill('success'),
      );
      assert.deepEqual(new Set(builds.map((b) => b.engine)), new Set(['e0', 'e1']));
      assert.equal(peak, 3, 'both engines full at once (1 + 2), the global cap (10) not reached');
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
