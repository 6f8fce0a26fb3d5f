/**
 * The live view's connection through a database outage: a private PostgreSQL (test/helpers/
 * private-postgres.ts) stopped under two running relays and started again. Nothing throws into
 * the process (node:test fails a test on an uncaught exception or unhandled rejection), the
 * relays say they lost the connection, and once the server is back they LISTEN again and build
 * changes flow between them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventBus, type BuildEvent } from '../../src/live/event-bus.js';
import { PgRelay } from '../../src/live/pg-relay.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { waitFor } from '../helpers/harness.js';
import { PrivatePostgres, privatePostgresSkip } from '../helpers/private-postgres.js';
import { newBuild } from '../unit/store.contract.js';

/** Log lines as the service logger would get them. */
function recorder(lines: string[]) {
  const log = (...args: unknown[]) => lines.push(args.map((a) => (typeof a === 'string' ? a : '')).join(' '));
  return { info: log, warn: log, debug: log } as unknown as ConstructorParameters<
    typeof PgRelay
  >[0]['logger'];
}

describe('PgRelay through a database outage', { skip: privatePostgresSkip }, () => {
  let server: PrivatePostgres;
  let store: PostgresStore;
  const bus = { a: new EventBus(), b: new EventBus() };
  const lines: string[] = [];
  let relay: { a: PgRelay; b: PgRelay };

  before(async () => {
    server = await PrivatePostgres.create();
    await server.start();
    store = await PostgresStore.open(server.url);
    relay = {
      a: new PgRelay({ url: server.url, bus: bus.a, store, logger: recorder(lines) }),
      b: new PgRelay({ url: server.url, bus: bus.b, store, logger: recorder(lines) }),
    };
    relay.a.start();
    relay.b.start();
    await waitFor(() => relay.a.connected && relay.b.connected);
  });

  after(async () => {
    await relay?.a.close();
    await relay?.b.close();
    await store?.close();
    await server?.destroy();
  });

  it('survives the server stopping, and relays again once it is back', async () => {
    const onB: BuildEvent[] = [];
    bus.b.onBuild((event) => onB.push(event));

    const { build: during } = await store.createBuild(newBuild({ branch: 'during' }));
    await server.stop();
    await waitFor(() => !relay.a.connected && !relay.b.connected);
    assert.ok(lines.some((line) => /lost the connection to the database/.test(line)));
    // Announced while the database is away: kept (and caught up on by B), never thrown.
    bus.a.publishBuild(during);

    await server.start();
    await waitFor(() => relay.a.connected && relay.b.connected, 30_000);
    assert.ok(lines.some((line) => /listening for other replicas' builds again/.test(line)));
    await waitFor(() => onB.find((e) => e.build.id === during.id && e.remote));
    const { build } = await store.createBuild(newBuild({ branch: 'back' }));
    bus.a.publishBuild(build);
    const relayed = await waitFor(() => onB.find((e) => e.build.id === build.id));
    assert.equal(relayed.remote, true);
    assert.equal(relayed.build.branch, 'back');
  });
});
