/** Limits in the config: on by default, set globally, overridden per rule. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { capabilitySets } from '../../src/domain/limits.js';
import { AppError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-limits-config-'));
const rule = { image: 'x', checkout: '/src', steps: ['true'] };
function load(config: Record<string, unknown>) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(config));
  return loadConfig({ file, env: {} });
}

describe('limits in the config', () => {
  it('are on by default, also for the built-in Zero-OS rules', () => {
    for (const config of [loadConfig({ env: {}, cwd: dir }), load({ repositories: { 'a/b': rule } })]) {
      for (const r of config.rules.values()) {
        assert.equal(r.memoryBytes, 4 * 1024 ** 3);
        assert.equal(r.pidsLimit, 4096);
        assert.equal(r.logMaxBytes, 256 * 1024 ** 2);
        assert.deepEqual(r.capAdd, []);
      }
    }
  });

  it('top-level values are the defaults of every rule; a rule overrides them', () => {
    const config = load({
      memory: '2g',
      pids_limit: 1000,
      log_max_size: '10m',
      repositories: {
        'a/plain': rule,
        'a/own': {
          ...rule,
          memory: '8g',
          pids_limit: 64,
          log_max_size: '1g',
          cap_add: ['cap_net_raw', 'MKNOD'],
        },
      },
    });
    const plain = config.rules.get('a/plain')!;
    assert.deepEqual(
      [plain.memoryBytes, plain.pidsLimit, plain.logMaxBytes],
      [2 * 1024 ** 3, 1000, 10 * 1024 ** 2],
    );
    const own = config.rules.get('a/own')!;
    assert.deepEqual([own.memoryBytes, own.pidsLimit, own.logMaxBytes], [8 * 1024 ** 3, 64, 1024 ** 3]);
    assert.deepEqual(own.capAdd, ['NET_RAW', 'MKNOD']);
  });

  it('refuses a pids limit below 16 and a capability that is not a name', () => {
    try {
      load({ repositories: { 'a/b': { ...rule, pids_limit: 2, cap_add: ['net raw; rm'] } } });
      assert.fail('expected the config to be refused');
    } catch (error) {
      assert.ok(error instanceof AppError);
      const paths = (error.details as { path: string }[]).map((p) => p.path).sort();
      assert.deepEqual(paths, ['repositories.a/b.cap_add.0', 'repositories.a/b.pids_limit']);
    }
  });

  it('a capability given back is added and no longer dropped', () => {
    const { add, drop } = capabilitySets(['net_raw']);
    assert.deepEqual(add, ['NET_RAW']);
    assert.ok(!drop.includes('NET_RAW'));
    assert.ok(drop.includes('AUDIT_WRITE'));
  });
});
