/**
 * The shared live view between replicas (src/live/pg-relay.ts) on the real PostgreSQL server
 * (AUTOBUILDER_TEST_POSTGRES_URL): two EventBuses, each with its relay, on one database, one
 * schema and one NOTIFY channel of this test's own (other tests' relays never hear these).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import type { Build } from '../../src/domain/build.js';
import { EventBus, type BuildEvent, type LogEvent } from '../../src/live/event-bus.js';
import { PgRelay } from '../../src/live/pg-relay.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { waitFor } from '../helpers/harness.js';
import { newBuild } from '../unit/store.contract.js';

const url = process.env.AUTOBUILDER_TEST_POSTGRES_URL;
if (!url && process.env.CI === 'true') throw new Error('CI=true: AUTOBUILDER_TEST_POSTGRES_URL must be set');

const tag = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const schema = `ab_relay_${tag}`;
const channel = `ab_relay_${tag}`;
const logger = pino({ level: 'silent' });

describe(
  'PgRelay: the live view shared by replicas over LISTEN/NOTIFY',
  { skip: url ? false : 'no PostgreSQL' },
  () => {
    let store: PostgresStore;
    let home: string;
    const bus = { a: new EventBus(), b: new EventBus() };
    let relay: { a: PgRelay; b: PgRelay };
    /** Every notification on the channel, as a third listener sees it. */
    const seen: string[] = [];
    let spy: pg.Client;

    before(async () => {
      store = await PostgresStore.open(url!, { schema });
      home = mkdtempSync(join(tmpdir(), 'ab-relay-'));
      relay = {
        a: new PgRelay({ url: url!, bus: bus.a, store, logger, channel }),
        b: new PgRelay({ url: url!, bus: bus.b, store, logger, channel }),
      };
      relay.a.start();
      relay.b.start();
      spy = new pg.Client({ connectionString: url });
      await spy.connect();
      spy.on('notification', (m) => seen.push(m.payload ?? ''));
      await spy.query(`LISTEN ${channel}`);
      await waitFor(() => relay.a.connected && relay.b.connected);
    });

    after(async () => {
      await relay.a.close();
      await relay.b.close();
      await spy.end();
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      rmSync(home, { recursive: true, force: true });
    });

    /** A running build with an empty log file, as replica A's scheduler would have it. */
    async function runningBuild(name: string): Promise<Build> {
      const { build } = await store.createBuild(newBuild({ branch: name }));
      const logPath = join(home, `build-${build.id}.log`);
      writeFileSync(logPath, '');
      return (await store.transition(build.id, ['queued'], 'running', {
        logPath,
        startedAt: new Date().toISOString(),
      }))!;
    }

    function collect(which: EventBus): BuildEvent[] {
      const events: BuildEvent[] = [];
      which.onBuild((event) => events.push(event));
      return events;
    }

    it('a build change on one replica reaches the other as the stored build, and not its sender', async () => {
      const onA = collect(bus.a);
      const onB = collect(bus.b);
      const build = await runningBuild('change');
      bus.a.publishBuild(build);
      const relayed = await waitFor(() => onB.find((e) => e.build.id === build.id));
      assert.equal(relayed.remote, true);
      assert.equal(relayed.build.state, 'running');
      assert.equal(relayed.build.logPath, build.logPath);
      // A change the other way round, then: once A has it, its own first change would have come too.
      const other = await runningBuild('marker');
      bus.b.publishBuild(other);
      await waitFor(() => onA.find((e) => e.build.id === other.id));
      assert.deepEqual(
        onA.filter((e) => e.build.id === build.id).map((e) => e.remote ?? false),
        [false],
        'A hears its own change once, locally',
      );
      assert.equal(onB.filter((e) => e.build.id === other.id && e.remote).length, 0);
    });

    it('log progress reaches the other replica as the bytes of the file, announced without text', async () => {
      const build = await runningBuild('log');
      const received: LogEvent[] = [];
      bus.b.onLog(build.id, (event) => received.push(event));
      let offset = 0;
      const write = (text: string) => {
        appendFileSync(build.logPath!, text);
        bus.a.publishLog({ buildId: build.id, offset, text });
        offset += Buffer.byteLength(text);
      };
      const before = seen.length;
      // 50 batches in one tick: one progress notice for all of them.
      for (let i = 0; i < 50; i++) write(`line ${i} ünïcödé ${'x'.repeat(i)}\n`);
      await waitFor(() => received.reduce((n, e) => n + Buffer.byteLength(e.text), 0) >= offset);
      // Later batches, in separate ticks.
      for (let i = 50; i < 60; i++) {
        write(`line ${i}\n`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const file = readFileSync(build.logPath!, 'utf8');
      await waitFor(() => received.map((e) => e.text).join('') === file);
      let expected = 0;
      for (const event of received) {
        assert.equal(event.offset, expected, 'chunks follow each other in the file, no gap, no overlap');
        assert.equal(event.remote, true);
        expected += Buffer.byteLength(event.text);
      }
      const notices = seen.slice(before).map((p) => JSON.parse(p) as Record<string, unknown>);
      const progress = notices.filter((n) => n.k === 'log' && n.b === build.id);
      assert.ok(
        progress.length >= 1 && progress.length < 20,
        `${progress.length} progress notices for 60 batches`,
      );
      for (const notice of progress) {
        assert.deepEqual(Object.keys(notice).sort(), ['b', 'f', 'i', 'k', 't', 'v'], 'offsets only, no text');
      }
      assert.equal(progress[0]!.f, 0);
      assert.equal(progress.at(-1)!.t, offset);
    });

    it('after its LISTEN connection is killed, a replica listens again and catches up on what it missed', async () => {
      const onB = collect(bus.b);
      const { build: queued } = await store.createBuild(newBuild({ branch: 'resync' }));
      bus.a.publishBuild(queued);
      await waitFor(() => onB.find((e) => e.build.id === queued.id && e.build.state === 'queued'));

      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ killed: boolean }>(
          'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
          [`autobuilder-live ${relay.b.sender}`.slice(0, 63)],
        );
        assert.deepEqual(rows, [{ killed: true }]);
      } finally {
        await admin.end();
      }
      await waitFor(() => !relay.b.connected);
      // Announced while B does not listen: B must see it all the same once it is back.
      const running = await store.transition(queued.id, ['queued'], 'running', {
        startedAt: new Date().toISOString(),
      });
      bus.a.publishBuild(running!);
      await waitFor(() => relay.b.connected);
      await waitFor(() => onB.find((e) => e.build.id === queued.id && e.build.state === 'running'));

      // And new notifications arrive again.
      const next = await runningBuild('after');
      bus.a.publishBuild(next);
      await waitFor(() => onB.find((e) => e.build.id === next.id && e.remote));
    });
  },
);
