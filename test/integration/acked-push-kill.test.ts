/**
 * An acknowledged push is in the database file: concurrent signed pushes go to the real service
 * process (SQLite, group commit), and the process is killed with SIGKILL the moment the 2xx
 * arrives for the 8th. Every push answered 2xx must then be in the file, with its delivery, when reopened.
 * (A kill leaves the page cache; that the commit is also fsynced is shown by
 * test/unit/sqlite-group-commit.test.ts under strace.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TEST_IMAGE } from '../helpers/docker.js';
import { ServiceProcess } from '../helpers/service-process.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'kill-secret';
const PUSHES = 24;
/** The kill follows this many answers at once (others may be answered in the same moment). */
const KILL_AFTER = 8;

const service = new ServiceProcess('ab-ackkill-');
after(() => service.close(true));

it('keeps every push answered 2xx after a SIGKILL right after the answer', async () => {
  service.configure({
    token: SECRET,
    repositories: { 'acme/os': { image: TEST_IMAGE, checkout: '/src', network: 'none', steps: ['true'] } },
  });
  await service.start();
  // Paused: the builds stay queued, so what is in the file is what the webhook stored.
  const paused = await fetch(`${service.url}/api/queue/pause`, { method: 'POST' });
  assert.equal(paused.status, 200);
  let killed: Promise<void> | null = null;
  const acked: { delivery: string; id: number }[] = [];
  await Promise.all(
    Array.from({ length: PUSHES }, async (_, i) => {
      const body = JSON.stringify(
        pushPayload({ repository: 'acme/os', branch: `k${i}`, commit: `${i}`.padStart(40, 'c') }),
      );
      const delivery = `kill-${i}`;
      const response = await fetch(`${service.url}/build/kill/hook`, {
        method: 'POST',
        body,
        headers: webhookHeaders(body, { secret: SECRET, delivery }),
      }).catch(() => null);
      if (!response || response.status >= 300) return;
      const { id } = (await response.json()) as { id: number };
      acked.push({ delivery, id });
      if (acked.length === KILL_AFTER) killed = service.stop('SIGKILL');
    }),
  );
  await killed;
  assert.ok(acked.length >= KILL_AFTER, 'the pushes were answered before the kill');
  const store = await SqliteStore.open(join(service.home, 'data', 'autobuilder.db'));
  try {
    for (const { delivery, id } of acked) {
      const build = await store.getBuild(id);
      assert.equal(build?.deliveryId, delivery, `acked push ${delivery} is build #${id} in the file`);
      assert.equal((await store.findDelivery(delivery))?.buildId, id);
    }
  } finally {
    await store.close();
  }
  process.stdout.write(
    `# ${acked.length} of ${PUSHES} pushes answered 2xx before the kill, all in the file\n`,
  );
});
