/**
 * Commit links on the monitor come from the config: github.com by default for sources on
 * github.com, `github.web_url` for GitHub Enterprise, and none for a local `git.url` without one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { commitLink } from '../../src/http/views/build-cells.js';
import { newBuild } from './store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-forge-'));
const webUrlOf = (extra: Record<string, unknown>) => {
  const file = join(dir, 'autobuilder.yaml');
  writeFileSync(
    file,
    stringify({ repositories: { 'acme/os': { image: 'x', checkout: '/src', steps: ['true'] } }, ...extra }),
  );
  return loadConfig({ file, env: {}, cwd: dir }).github.webUrl;
};

describe('forge links', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('come from github.com, github.web_url, or nowhere', () => {
    assert.equal(webUrlOf({}), 'https://github.com');
    assert.equal(
      webUrlOf({
        git: { url: 'https://github.example.org/{repository}.git' },
        github: { web_url: 'https://github.example.org/' },
      }),
      'https://github.example.org',
    );
    assert.equal(webUrlOf({ git: { url: '/srv/git/{repository}.git' } }), null);
    assert.equal(webUrlOf({ git: { url: 'https://git.example.org/{repository}.git' } }), null);
  });

  it('link a commit to the configured forge, or show its hash without a link', () => {
    const build = { ...newBuild(), id: 1, commit: 'c'.repeat(40) } as Parameters<typeof commitLink>[0];
    assert.equal(
      commitLink(build, 'https://github.example.org').value,
      `<a class="sha" href="https://github.example.org/acme/os/commit/${'c'.repeat(40)}">cccccccc</a>`,
    );
    assert.equal(commitLink(build, null).value, '<span class="sha">cccccccc</span>');
  });
});
