import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type ConfigProblem } from '../../src/config/load-config.js';
import { AppError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function problems(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.details as ConfigProblem[];
  }
  assert.fail('expected the config to be refused');
}

describe('loadConfig', () => {
  it('falls back to the built-in Zero-OS rules', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.source, 'built-in Zero-OS defaults');
    assert.deepEqual([...config.rules.keys()], ['zero-os/initramfs', 'zero-os/core0', 'zero-os/g8ufs']);
    const initramfs = config.rules.get('zero-os/initramfs')!;
    assert.equal(initramfs.image, 'ubuntu:16.04');
    assert.equal(initramfs.commit, 'zero-os/initramfs:{branch}');
    assert.equal(initramfs.publish, 'zero-os-{branch}-generic-{short}.efi');
    assert.equal(initramfs.artifact, '/target/vmlinuz.efi');
    assert.equal(initramfs.timeoutMs, 45 * 60_000);
    const core0 = config.rules.get('zero-os/core0')!;
    assert.equal(core0.base, 'zero-os/initramfs');
    assert.equal(core0.link, 'zero-os-{branch}.efi');
    assert.match(core0.steps[0]!, /gig-build-cores\.sh "\$AUTOBUILD_BRANCH"/);
    assert.equal(config.databaseUrl, `sqlite:${join(dir, 'data/autobuilder.db')}`);
    assert.equal(config.concurrency, 1);
  });

  it('lets the historical environment variables override the file', () => {
    const path = file('env.yaml', 'http_port: 1000\ntoken: fromfile\n');
    const config = loadConfig({
      file: path,
      cwd: dir,
      env: {
        TOKEN: 's3cret',
        HTTP_PORT: '8081',
        KERNEL_TARGET: '/srv/k',
        LOGS_DIRECTORY: '/srv/l',
        TMP_DIRECTORY: '/srv/t',
        DEBUG: '1',
        DATABASE_URL: 'sqlite:/srv/db.sqlite',
      },
    });
    assert.equal(config.webhookSecret, 's3cret', 'TOKEN is the webhook secret');
    assert.deepEqual(config.apiTokens, [], 'TOKEN is not an API token');
    assert.equal(config.httpPort, 8081);
    assert.equal(config.kernelTarget, '/srv/k');
    assert.equal(config.logsDirectory, '/srv/l');
    assert.equal(config.tmpDirectory, '/srv/t');
    assert.equal(config.debug, true);
    assert.equal(config.databaseUrl, 'sqlite:/srv/db.sqlite');
    assert.equal(config.rules.size, 3, 'a file without repositories keeps the Zero-OS rules');
  });

  it('database_wait: 60s by default, a duration or 0, also from DATABASE_WAIT', () => {
    assert.equal(loadConfig({ env: {}, cwd: dir }).databaseWaitMs, 60_000);
    assert.equal(loadConfig({ env: { DATABASE_WAIT: '2m' }, cwd: dir }).databaseWaitMs, 120_000);
    assert.equal(loadConfig({ env: { DATABASE_WAIT: '0' }, cwd: dir }).databaseWaitMs, 0);
    assert.equal(
      loadConfig({ file: file('wait.yaml', 'database_wait: 0\n'), cwd: dir, env: {} }).databaseWaitMs,
      0,
    );
    const refused = problems(() => loadConfig({ env: { DATABASE_WAIT: 'soon' }, cwd: dir }));
    assert.ok(
      refused.some((p) => p.path === 'database_wait'),
      JSON.stringify(refused),
    );
  });

  it('keeps the webhook secret and the API tokens apart', () => {
    const defaults = loadConfig({ env: {}, cwd: dir });
    assert.equal(defaults.webhookSecret, '');
    assert.deepEqual(defaults.apiTokens, []);
    assert.equal(defaults.requestTimeoutMs, 30_000);
    assert.equal(defaults.maxConnections, 1000);
    const path = file('secrets.yaml', 'webhook_secret: hook\napi_tokens: [one, two]\nrequest_timeout: 5s\n');
    const fromFile = loadConfig({ file: path, cwd: dir, env: {} });
    assert.equal(fromFile.webhookSecret, 'hook');
    assert.deepEqual(fromFile.apiTokens, ['one', 'two']);
    assert.equal(fromFile.requestTimeoutMs, 5000);
    const legacy = loadConfig({ file: file('legacy.yaml', 'token: old\n'), cwd: dir, env: {} });
    assert.equal(legacy.webhookSecret, 'old', 'the file key "token" is the old name of webhook_secret');
    const fromEnv = loadConfig({
      file: path,
      cwd: dir,
      env: { WEBHOOK_SECRET: 'env-hook', TOKEN: 'ignored', API_TOKEN: 'a, b ,,a' },
    });
    assert.equal(fromEnv.webhookSecret, 'env-hook', 'WEBHOOK_SECRET wins over TOKEN');
    assert.deepEqual(fromEnv.apiTokens, ['a', 'b']);
    assert.equal(loadConfig({ file: path, cwd: dir, env: { TOKEN: '' } }).webhookSecret, '');
    assert.deepEqual(
      problems(() => loadConfig({ file: path, cwd: dir, env: { API_TOKEN: 'hook' } })).map((p) => p.path),
      ['api_tokens'],
      'an API token equal to the webhook secret is refused',
    );
    assert.deepEqual(
      problems(() =>
        loadConfig({ file: file('both.yaml', 'token: a\nwebhook_secret: b\n'), cwd: dir, env: {} }),
      ).map((p) => p.path),
      ['token'],
    );
  });

  it('refuses a duration longer than a timer can wait (24d)', () => {
    const path = file('long.yaml', 'retention:\n  interval: 30d\n');
    assert.deepEqual(
      problems(() => loadConfig({ file: path, cwd: dir, env: {} })).map((p) => p.path),
      ['retention.interval'],
    );
    assert.equal(
      loadConfig({ file: file('ok.yaml', 'retention:\n  interval: 24d\n'), cwd: dir, env: {} }).retention
        .intervalMs,
      24 * 86_400_000,
    );
  });

  it('refuses network: host without an API token (the build would be a loopback client)', () => {
    const yaml =
      'repositories:\n  acme/os:\n    image: debian:12\n    checkout: /src\n    steps: [make]\n    network: host\n';
    const path = file('hostnet.yaml', yaml);
    assert.deepEqual(
      problems(() => loadConfig({ file: path, cwd: dir, env: {} })).map((p) => p.path),
      ['repositories.acme/os.network'],
    );
    assert.equal(
      loadConfig({ file: path, cwd: dir, env: { API_TOKEN: 'tok' } }).rules.get('acme/os')?.network,
      'host',
    );
  });

  it('finds AUTOBUILDER_CONFIG and ./autobuilder.yaml', () => {
    const path = file(
      'custom.yaml',
      'repositories:\n  acme/os:\n    image: debian:12\n    checkout: /src\n    steps: [make]\n',
    );
    assert.deepEqual(
      [...loadConfig({ env: { AUTOBUILDER_CONFIG: path }, cwd: dir }).rules.keys()],
      ['acme/os'],
    );
    const cwd = mkdtempSync(join(tmpdir(), 'ab-cwd-'));
    writeFileSync(join(cwd, 'autobuilder.yaml'), 'concurrency: 3\n');
    assert.equal(loadConfig({ env: {}, cwd }).concurrency, 3);
  });

  it('lists every problem with its key path', () => {
    const path = file(
      'bad.yaml',
      [
        'http_port: 99999',
        'concurrency: 0',
        'colour: blue',
        'repositories:',
        '  acme/full:',
        '    checkout: relative',
        '    steps: []',
        '    timeout: soon',
        '    publish: "../{branch}.efi"',
        '  acme/inc:',
        '    base: acme/missing',
        '    checkout: /src',
        '    steps: [make]',
        '    publish: "k-{bogus}.efi"',
        '  "../evil":',
        '    image: x',
        '    checkout: /src',
        '    steps: [make]',
      ].join('\n'),
    );
    const found = problems(() => loadConfig({ file: path, env: {}, cwd: dir }));
    const paths = found.map((p) => p.path);
    for (const expected of [
      'http_port',
      'concurrency',
      'repositories.acme/full.checkout',
      'repositories.acme/full.steps',
      'repositories.acme/full.timeout',
      'repositories.acme/full.publish',
      'repositories.acme/inc.publish',
      'repositories.../evil',
    ]) {
      assert.ok(paths.includes(expected), `expected a problem at ${expected}, got ${paths.join(', ')}`);
    }
    assert.ok(
      found.some((p) => /colour/.test(p.message)),
      'unknown keys are reported',
    );
    assert.ok(found.some((p) => p.path === 'repositories.acme/full' && /exactly one of/.test(p.message)));
  });

  it('reports YAML syntax errors and non-mappings', () => {
    assert.equal(
      problems(() => loadConfig({ file: file('syntax.yaml', 'a: [1, 2'), env: {}, cwd: dir })).length,
      1,
    );
    assert.equal(
      problems(() => loadConfig({ file: file('list.yaml', '- 1\n- 2\n'), env: {}, cwd: dir })).length,
      1,
    );
    assert.equal(
      problems(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {}, cwd: dir })).length,
      1,
    );
  });
});

describe('autobuilder config check', () => {
  const cli = ['--import', 'tsx', 'src/cli.ts'];
  it('prints the effective config and exits 0', () => {
    const out = execFileSync('node', [...cli, 'config', 'check'], {
      encoding: 'utf8',
      env: { ...process.env, TOKEN: 'x' },
      cwd: process.cwd(),
    });
    assert.match(out, /zero-os\/initramfs:/);
    assert.match(out, /webhook_secret: \(set\)/);
    assert.match(out, /api_tokens: "?\(none: write endpoints answer only clients on this host\)/);
    assert.doesNotMatch(out, /: x\b/);
  });
  it('exits 1 listing every problem', () => {
    const path = file('cli-bad.yaml', 'concurrency: -1\nhttp_port: nope\n');
    const result = spawnSync('node', [...cli, 'config', 'check', path], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /concurrency/);
    assert.match(result.stderr, /http_port/);
  });
});
