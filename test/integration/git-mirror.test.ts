/** The host-side git mirror against real local bare repositories. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { GitMirrors } from '../../src/pipeline/git-mirror.js';
import { gitRoot, LocalRepo } from '../helpers/git-repo.js';

test('every fetch follows the git.url the config gives now, not the one the mirror was made with', async (t) => {
  const oldRoot = gitRoot();
  const newRoot = gitRoot();
  const mirrorRoot = gitRoot();
  t.after(() => [oldRoot, newRoot, mirrorRoot].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const before = new LocalRepo(oldRoot, 'acme/os');
  const first = before.commit('master', { a: '1' });
  const lines: string[] = [];
  assert.equal(
    await new GitMirrors(mirrorRoot, `${oldRoot}/{repository}.git`).ensureCommit('acme/os', first, () => {}),
    null,
  );

  // The sources moved: a new host with a commit the old one never had; the old one is gone.
  const after = new LocalRepo(newRoot, 'acme/os');
  const moved = after.commit('master', { b: '2' });
  rmSync(oldRoot, { recursive: true, force: true });
  const mirrors = new GitMirrors(mirrorRoot, `${newRoot}/{repository}.git`);
  assert.equal(await mirrors.ensureCommit('acme/os', moved, (l) => lines.push(l)), null);
  assert.deepEqual(lines, [`fetching ${newRoot}/acme/os.git`]);
  const remote = execFileSync('git', ['remote', 'get-url', 'origin'], {
    cwd: mirrors.mirrorPath('acme/os'),
    encoding: 'utf8',
  }).trim();
  assert.equal(remote, join(newRoot, 'acme/os.git'));
  assert.equal(await mirrors.resolveBranch('acme/os', 'master'), moved);
});

test("a fetch with the URL already set leaves the mirror's config alone (no `remote set-url` each time)", async (t) => {
  const root = gitRoot();
  const mirrorRoot = gitRoot();
  t.after(() => [root, mirrorRoot].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const repo = new LocalRepo(root, 'acme/os');
  const mirrors = new GitMirrors(mirrorRoot, `${root}/{repository}.git`);
  assert.equal(await mirrors.ensureCommit('acme/os', repo.commit('master', { a: '1' }), () => {}), null);
  // git rewrites the whole file (a new inode) on every `remote set-url`, even to the same URL.
  const config = join(mirrors.mirrorPath('acme/os'), 'config');
  const inode = statSync(config).ino;
  const next = repo.commit('master', { a: '2' });
  const lines: string[] = [];
  assert.equal(await mirrors.ensureCommit('acme/os', next, (l) => lines.push(l)), null);
  assert.deepEqual(lines, [`fetching ${root}/acme/os.git`], 'the new commit was fetched');
  assert.equal(statSync(config).ino, inode, 'the config was not written again');
});

test('a git server that accepts and never answers fails the fetch in time and frees the mirror', async (t) => {
  const held: Socket[] = [];
  const server = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const mirrorRoot = gitRoot();
  t.after(() => {
    for (const socket of held) socket.destroy();
    server.close();
    rmSync(mirrorRoot, { recursive: true, force: true });
  });
  const port = (server.address() as AddressInfo).port;
  const mirrors = new GitMirrors(mirrorRoot, `http://127.0.0.1:${port}/{repository}.git`, 1500);
  const first = await mirrors.ensureCommit('acme/os', 'a'.repeat(40), () => {});
  assert.match(
    first ?? '',
    /git fetch of http:\/\/127\.0\.0\.1:\d+\/acme\/os\.git failed: git fetch did not finish within 2 s/,
  );
  // The mirror's lock is free again: the next build's fetch runs (and fails the same way) too.
  const second = await mirrors.ensureCommit('acme/os', 'b'.repeat(40), () => {});
  assert.match(second ?? '', /did not finish/);
  assert.ok(held.length >= 2, 'both fetches reached the server');
});
