/**
 * Issue 14 on real parts: two `autobuilder serve` processes (replicas) on one PostgreSQL schema,
 * one Docker engine, one logs and kernels directory. Pushes go to both; replicas are killed
 * (-9), frozen (-STOP past their lease) and asked to cancel builds the other runs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isFinal, type Build } from '../../src/domain/build.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { ourContainers, requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/harness.js';
import { createTestSchema, postgresUrl, type TestSchema } from '../helpers/postgres-schema.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'replica-secret';
const LEASE = { lease: '3s', renew: '1s', poll: '1s' };

interface Replica {
  process: ServiceProcess;
  instance: string;
  log: string;
}

/** Two replicas on a fresh schema, sharing git repositories, logs and kernels. */
class Pair {
  readonly shared = mkdtempSync(join(tmpdir(), 'ab-replicas-'));
  readonly gitRoot = join(this.shared, 'git');
  readonly replicas: Replica[] = [];
  schema!: TestSchema;
  store!: PostgresStore;

  async start(steps: string[], concurrency = 2): Promise<void> {
    this.schema = await createTestSchema('ab_replicas');
    for (const name of ['a', 'b']) {
      const process = new ServiceProcess(`ab-replica-${name}-`);
      process.configure({
        token: SECRET,
        concurrency,
        grace_period: '1s',
        database_url: this.schema.url,
        logs_directory: join(this.shared, 'logs'),
        kernel_target: join(this.shared, 'kernels'),
        git: { url: `${this.gitRoot}/{repository}.git` },
        replicas: LEASE,
        repositories: {
          'acme/os': {
            image: TEST_IMAGE,
            checkout: '/src',
            network: 'none',
            steps: [...steps, 'cp /src/kernel /target/vmlinuz.efi'],
            publish: 'os-{branch}-{short}.efi',
          },
        },
      });
      const log = join(process.home, 'service.log');
      await process.start({ logFile: log });
      const instance = readFileSync(join(process.home, 'data', 'instance-id'), 'utf8').trim();
      this.replicas.push({ process, instance, log });
    }
    this.store = await PostgresStore.open(postgresUrl!, { schema: this.schema.name });
  }

  byInstance(instance: string | null): Replica {
    const replica = this.replicas.find((r) => r.instance === instance);
    assert.ok(replica, `a replica owns the build (${instance})`);
    return replica;
  }

  async push(to: Replica, repo: LocalRepo, branch: string, i: number): Promise<number> {
    const sha = repo.commit(branch, { kernel: `kernel ${i}\n` });
    const body = JSON.stringify(pushPayload({ repository: 'acme/os', branch, commit: sha }));
    const response = await fetch(`${to.process.url}/build/replicas/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET }),
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: number }).id;
  }

  running(id: number): Promise<Build> {
    return waitFor(async () => {
      const build = await this.store.getBuild(id);
      return build?.state === 'running' ? build : undefined;
    }, 30_000);
  }

  async close(): Promise<void> {
    for (const r of this.replicas) {
      // A frozen replica must run again to die of SIGKILL's exit handling; a dead one is gone.
      if (r.process.pid) {
        try {
          process.kill(r.process.pid, 'SIGCONT');
        } catch {
          // already exited
        }
      }
      await r.process.close(true);
    }
    await this.store?.close();
    await this.schema?.drop();
    rmSync(this.shared, { recursive: true, force: true });
  }
}

/**
 * Containers the engine creates for `instances` while it runs, per build id, from a live
 * `docker events` stream (the engine keeps only its last few hundred events for `--since`).
 */
async function watchCreates(instances: string[]): Promise<{ stop(): Promise<Map<number, number>> }> {
  const counts = new Map<number, number>();
  // Label filters are ANDed by Docker: the instances are matched here, not by the engine.
  const args = ['events', '--filter', 'type=container', '--filter', 'event=create'];
  args.push('--filter', 'label=org.zero-os.autobuilder.instance', '--format');
  args.push(
    '{{index .Actor.Attributes "org.zero-os.autobuilder.instance"}} {{index .Actor.Attributes "org.zero-os.autobuilder.build"}}',
  );
  const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [instance, build] = line.split(' ');
      if (!instance || !instances.includes(instance)) continue;
      counts.set(Number(build), (counts.get(Number(build)) ?? 0) + 1);
    }
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      return counts;
    },
  };
}

describe('Replicas: two service processes on one PostgreSQL and one engine', () => {
  let pair: Pair;
  before(async () => {
    await requireDocker();
  });
  afterEach(async () => {
    await pair?.close();
  });
  after(() => undefined);

  it('20 pushes sent alternately to both: every build finishes once, none starts twice', async () => {
    pair = new Pair();
    await pair.start(['echo "building $AUTOBUILD_BRANCH"', 'sleep 0.5']);
    const creates = await watchCreates(pair.replicas.map((r) => r.instance));
    const repo = new LocalRepo(pair.gitRoot, 'acme/os');
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await pair.push(pair.replicas[i % 2]!, repo, `b${i}`, i));
    const builds = await waitFor(async () => {
      const all = await Promise.all(ids.map((id) => pair.store.getBuild(id)));
      return all.every((b) => b && isFinal(b.state)) ? (all as Build[]) : undefined;
    }, 180_000);
    for (const build of builds) assert.equal(build.state, 'success', `#${build.id}: ${build.reason}`);
    // A create event can trail the build's end by a moment: wait for all before counting.
    await waitFor(() => pair.replicas.every((r) => ourContainers(r.instance).length === 0), 30_000);
    const created = await creates.stop();
    for (const id of ids) {
      assert.equal(created.get(id), 1, `build #${id}: one container (${JSON.stringify([...created])})`);
      const log = readFileSync(join(pair.shared, 'logs', `build-${id}.log`), 'utf8');
      assert.equal(log.match(/^==> build #/gm)?.length, 1, `build #${id} started once`);
    }
    const owners = new Map<string, number>();
    for (const b of builds) owners.set(b.owner!, (owners.get(b.owner!) ?? 0) + 1);
    process.stdout.write(
      `# replicas: 20 pushes, builds per replica ${JSON.stringify([...owners.values()])}\n`,
    );
  });

  it('kill -9 of the replica running a build: the other re-queues it within 60 s, it finishes, no container left', async () => {
    pair = new Pair();
    await pair.start(['sleep 8']);
    const repo = new LocalRepo(pair.gitRoot, 'acme/os');
    const id = await pair.push(pair.replicas[0]!, repo, 'master', 1);
    const running = await pair.running(id);
    const owner = pair.byInstance(running.owner);
    await waitFor(() => ourContainers(owner.instance).length === 1, 30_000);
    const killedAt = Date.now();
    await owner.process.stop('SIGKILL');
    const retry = await waitFor(async () => {
      const all = (await pair.store.listActive()).concat(
        (await pair.store.listHistory({ limit: 10 })).builds,
      );
      return all.find((b) => b.retryOf === id);
    }, 60_000);
    const requeuedMs = Date.now() - killedAt;
    const old = (await pair.store.getBuild(id))!;
    assert.equal(old.state, 'interrupted');
    assert.match(old.reason!, /stopped renewing its lease/);
    const done = await waitFor(async () => {
      const b = await pair.store.getBuild(retry.id);
      return b && isFinal(b.state) ? b : undefined;
    }, 60_000);
    assert.equal(done.state, 'success', done.reason ?? '');
    assert.notEqual(done.owner, owner.instance);
    assert.deepEqual(ourContainers(owner.instance), [], 'the dead replica’s container was removed');
    process.stdout.write(
      `# replicas: kill -9 of the owner; re-queued after ${requeuedMs} ms (lease ${LEASE.lease}), finished after ${Date.now() - killedAt} ms\n`,
    );
    assert.ok(requeuedMs < 60_000);
  });

  it('a replica frozen (kill -STOP) past its lease, then continued, does not mark the build final and says so', async () => {
    pair = new Pair();
    await pair.start(['sleep 4']);
    const repo = new LocalRepo(pair.gitRoot, 'acme/os');
    const id = await pair.push(pair.replicas[0]!, repo, 'master', 1);
    const running = await pair.running(id);
    const owner = pair.byInstance(running.owner);
    process.kill(owner.process.pid!, 'SIGSTOP');
    const retry = await waitFor(async () => {
      const all = (await pair.store.listActive()).concat(
        (await pair.store.listHistory({ limit: 10 })).builds,
      );
      return all.find((b) => b.retryOf === id);
    }, 60_000);
    const done = await waitFor(async () => {
      const b = await pair.store.getBuild(retry.id);
      return b && isFinal(b.state) ? b : undefined;
    }, 60_000);
    assert.equal(done.state, 'success', done.reason ?? '');
    process.kill(owner.process.pid!, 'SIGCONT');
    await waitFor(() => readFileSync(owner.log, 'utf8').includes(`build #${id} lost its lease`), 30_000);
    const old = (await pair.store.getBuild(id))!;
    assert.equal(old.state, 'interrupted', 'the reaper’s record stands');
    assert.equal(old.artifact, null);
    assert.equal(old.owner, owner.instance);
  });

  it('a cancel sent to the replica that does not run the build cancels it within 2 s', async () => {
    pair = new Pair();
    await pair.start(['sleep 60']);
    const repo = new LocalRepo(pair.gitRoot, 'acme/os');
    const id = await pair.push(pair.replicas[0]!, repo, 'master', 1);
    const running = await pair.running(id);
    const other = pair.replicas.find((r) => r.instance !== running.owner)!;
    const started = Date.now();
    const response = await fetch(`${other.process.url}/api/builds/${id}/cancel`, { method: 'POST' });
    const took = Date.now() - started;
    const body = (await response.json()) as Build;
    assert.equal(response.status, 200);
    assert.equal(body.state, 'cancelled');
    assert.equal(body.cause, 'cancelled');
    assert.ok(took < 2000, `cancelled after ${took} ms`);
    process.stdout.write(
      `# replicas: cancel through the other replica answered cancelled after ${took} ms\n`,
    );
    await waitFor(() => ourContainers(running.owner!).length === 0, 30_000);
  });
});
