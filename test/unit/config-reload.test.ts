/** Filters and case in the server config; the ConfigHolder's reload (all or nothing). */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ConfigHolder } from '../../src/config/config-holder.js';
import { loadConfig } from '../../src/config/load-config.js';
import { AppError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-reload-unit-'));
const rule = { image: 'busybox', checkout: '/src', steps: ['true'] };
function write(name: string, config: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({ data_directory: dir, ...config }));
  return path;
}

describe('server config: filters, case, revision', () => {
  it('reads branches, tags and repository_config, and refuses bad patterns and case twins', () => {
    const file = write('ok.yaml', {
      repositories: {
        'acme/app': { ...rule, branches: ['master', 'release/*'], tags: [], repository_config: false },
      },
    });
    const app = loadConfig({ file, env: {} }).rules.get('acme/app')!;
    assert.deepEqual(app.branches, ['master', 'release/*']);
    assert.deepEqual(app.tags, []);
    assert.equal(app.repositoryConfig, false);
    assert.equal(
      loadConfig({ file: write('d.yaml', { repositories: { 'a/b': rule } }), env: {} }).rules.get('a/b')!
        .repositoryConfig,
      true,
    );

    const bad = write('bad.yaml', {
      repositories: { 'acme/app': { ...rule, branches: 'master', tags: ['v *'] }, 'ACME/App': rule },
    });
    try {
      loadConfig({ file: bad, env: {} });
      assert.fail('refused');
    } catch (error) {
      assert.ok(error instanceof AppError);
      const paths = (error.details as { path: string; message: string }[]).map(
        (p) => `${p.path}: ${p.message}`,
      );
      assert.ok(
        paths.some((p) => p.startsWith('repositories.acme/app.branches: ')),
        paths.join('\n'),
      );
      assert.ok(
        paths.some((p) => p.startsWith('repositories.acme/app.tags.0: ')),
        paths.join('\n'),
      );
      assert.ok(
        paths.some((p) => /same repository as acme\/app/.test(p)),
        paths.join('\n'),
      );
    }
  });

  it('resolves secrets from values, files and the environment, listing each one that cannot be', () => {
    writeFileSync(join(dir, 'secret-file'), 'from-file\n');
    const file = write('secrets.yaml', {
      repositories: {
        'a/b': {
          ...rule,
          secrets: { A: 'plain-value', B: { file: join(dir, 'secret-file') }, C: { env: 'MY_SECRET' } },
        },
      },
    });
    const config = loadConfig({ file, env: { MY_SECRET: 'from-env' } });
    assert.deepEqual(config.rules.get('a/b')!.secrets, { A: 'plain-value', B: 'from-file', C: 'from-env' });
    try {
      loadConfig({
        file: write('secrets-bad.yaml', {
          repositories: {
            'a/b': { ...rule, secrets: { B: { file: join(dir, 'nope') }, C: { env: 'UNSET' } } },
          },
        }),
        env: {},
      });
      assert.fail('refused');
    } catch (error) {
      assert.ok(error instanceof AppError);
      const paths = (error.details as { path: string }[]).map((p) => p.path);
      assert.deepEqual(paths, ['repositories.a/b.secrets.B.file', 'repositories.a/b.secrets.C.env']);
    }
  });

  it('gives each file content its own revision', () => {
    const a = loadConfig({ file: write('r1.yaml', { repositories: { 'a/b': rule } }), env: {} });
    const same = loadConfig({ file: write('r2.yaml', { repositories: { 'a/b': rule } }), env: {} });
    const b = loadConfig({
      file: write('r3.yaml', { repositories: { 'a/b': { ...rule, steps: ['x'] } } }),
      env: {},
    });
    assert.match(a.revision, /^[0-9a-f]{12}$/);
    assert.equal(a.revision, same.revision);
    assert.notEqual(a.revision, b.revision);
  });
});

describe('ConfigHolder', () => {
  it('swaps the whole config on a valid reload, keeps it on an invalid one, and finds names ignoring case', () => {
    const file = write('holder.yaml', { repositories: { 'Acme/App': rule } });
    let clock = 0;
    const holder = new ConfigHolder(
      loadConfig({ file, env: {} }),
      () => loadConfig({ file, env: {} }),
      () => new Date(++clock * 1000),
    );
    const first = holder.current();
    const rules = holder.rules;
    assert.equal(holder.configuredName('acme/APP'), 'Acme/App');
    assert.equal(holder.configuredName('acme/other'), null);

    write('holder.yaml', { repositories: { 'Acme/App': { ...rule, steps: 'oops' } } });
    const refused = holder.reload();
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.problems.some((p) => p.path === 'repositories.Acme/App.steps'));
    assert.equal(holder.current(), first, 'nothing changed');
    assert.equal(holder.loadedAt, new Date(1000).toISOString());

    const rule0 = rules.get('Acme/App');
    write('holder.yaml', {
      repositories: { 'acme/new': rule, 'Acme/App': { ...rule, steps: ['new'] } },
      concurrency: 2,
    });
    const applied = holder.reload();
    assert.ok(applied.ok);
    // The default engine's capacity is `concurrency`: it changes with it.
    assert.deepEqual(applied.restartNeeded, ['concurrency', 'engines']);
    assert.equal(applied.previous, first.revision);
    assert.deepEqual(rules.get('Acme/App')?.steps, ['new'], 'the live lookup follows the reload');
    assert.deepEqual(rule0?.steps, ['true'], 'a rule taken before (a running build) is unchanged');
    assert.equal(holder.configuredName('ACME/NEW'), 'acme/new');
    assert.equal(holder.loadedAt, new Date(2000).toISOString());
  });
});
