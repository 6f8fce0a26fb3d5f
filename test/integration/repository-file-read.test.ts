/** GitMirrors.readFile: a file of the exact commit, from a real git mirror. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitMirrors } from '../../src/pipeline/git-mirror.js';
import { gitRoot, LocalRepo } from '../helpers/git-repo.js';

describe('reading .autobuilder.yaml from the mirror', () => {
  const root = gitRoot();
  const data = mkdtempSync(join(tmpdir(), 'ab-mirrors-'));
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  it('reads the file of the given commit, not of the branch now; null when absent; bounded', async () => {
    const repo = new LocalRepo(root, 'acme/read');
    const none = repo.commit('master', { README: 'x' });
    const first = repo.commit('master', { '.autobuilder.yaml': 'steps: [one]\n' });
    const second = repo.commit('master', { '.autobuilder.yaml': 'steps: [two]\n', 'dir/.keep': '' });
    const big = repo.commit('master', { '.autobuilder.yaml': 'x'.repeat(70_000) });
    const mirrors = new GitMirrors(data, `${root}/{repository}.git`);
    assert.equal(await mirrors.ensureCommit('acme/read', big, () => undefined), null);
    assert.equal(await mirrors.readFile('acme/read', none, '.autobuilder.yaml', 1024), null);
    assert.equal(await mirrors.readFile('acme/read', first, '.autobuilder.yaml', 1024), 'steps: [one]\n');
    assert.equal(await mirrors.readFile('acme/read', second, '.autobuilder.yaml', 1024), 'steps: [two]\n');
    await assert.rejects(
      mirrors.readFile('acme/read', big, '.autobuilder.yaml', 65_536),
      /70000 bytes, more than 65536/,
    );
    await assert.rejects(mirrors.readFile('acme/read', second, 'dir', 1024), /is a tree, not a file/);
  });
});
