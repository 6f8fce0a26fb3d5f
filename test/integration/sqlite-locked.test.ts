/**
 * A SQLite file locked by another process (a backup, an operator's sqlite3) while a build ends:
 * its final state is written when the lock is gone, never dropped, and the service says meanwhile
 * that its database does not answer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { ContainerHandle, ExecOptions } from '../../src/executor/executor.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import {
  enqueuePush,
  removeHome,
  startHarness,
  waitFor,
  waitForFinal,
  type Harness,
} from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

/** Holds its step until released, so the lock can be taken while the build runs. */
class GatedExecutor extends FakeExecutor {
  inStep = false;
  private release: (() => void) | null = null;
  override async exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    this.inStep = true;
    await new Promise<void>((resolve) => (this.release = resolve));
    return super.exec(handle, command, options);
  }
  go(): void {
    this.release?.();
  }
}

let h: Harness | undefined;
after(async () => {
  if (h) {
    await h.close();
    removeHome(h);
  }
});

it('a build that ends while another process holds the SQLite write lock is stored once it is free', async () => {
  const executor = new GatedExecutor();
  h = await startHarness({
    executor,
    repositories: {
      'acme/x': fakeRule(['true']),
    },
  });
  const harness = h;
  const sha = new LocalRepo(harness.gitRoot, 'acme/x').commit('master', { a: '1' });
  const build = await enqueuePush(harness, 'acme/x', 'master', sha);
  await waitFor(() => executor.inStep);

  // Another process takes the write lock and keeps it until told to let go (a line on stdin).
  const db = join(harness.home, 'data', 'autobuilder.db');
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(db)});
       d.exec('BEGIN IMMEDIATE'); console.log('locked');
       process.stdin.once('data', () => { d.exec('COMMIT'); process.exit(0); });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  await new Promise((resolve) => holder.stdout!.once('data', resolve));

  executor.go();
  // The final write meets the lock: the database is reported as not answering, the build waits.
  await waitFor(() => harness.service.databaseHealth.problem !== null, 30_000);
  assert.match(harness.service.databaseHealth.problem ?? '', /locked|busy/i);

  holder.stdin!.write('go\n');
  await exited;
  const done = await waitForFinal(harness, build.id, 30_000);
  assert.equal(done.state, 'success', 'the final state was written once the lock was gone');
  assert.equal(done.steps[0]?.exitCode, 0);
  await waitFor(() => harness.service.databaseHealth.problem === null, 30_000);
});
