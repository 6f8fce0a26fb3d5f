import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildsToPrune } from '../../src/artifacts/retention.js';
import type { Build } from '../../src/domain/build.js';
import { timesPath } from '../../src/domain/log-files.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitForFinal } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

describe('retention', () => {
  it('keeps the newest N per repository and ref', () => {
    const b = (id: number, repository: string, branch: string, refType = 'branch') =>
      ({ id, repository, branch, refType }) as Build;
    const builds = [
      b(1, 'a/x', 'm'),
      b(2, 'a/x', 'm'),
      b(3, 'a/x', 'dev'),
      b(4, 'a/x', 'm'),
      b(5, 'a/y', 'm'),
    ];
    assert.deepEqual(
      buildsToPrune(builds, 2).map((x) => x.id),
      [1],
    );
    assert.deepEqual(
      buildsToPrune(builds, 1)
        .map((x) => x.id)
        .sort(),
      [1, 2],
    );
  });

  it('counts a tag and a branch of the same name apart', () => {
    const builds = [
      { id: 1, repository: 'a/x', refType: 'branch', branch: 'master' },
      { id: 2, repository: 'a/x', refType: 'tag', branch: 'master' },
    ] as Build[];
    assert.deepEqual(buildsToPrune(builds, 1), []);
  });

  it('removes old logs and kernels but never the one a link points to', async () => {
    const h = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        'acme/os': fakeRule(['echo k > /target/vmlinuz.efi'], {
          publish: 'os-{branch}-{short}.efi',
          link: 'os-{branch}.efi',
        }),
      },
      extra: { retention: { keep: 2 } },
    });
    try {
      const repo = new LocalRepo(h.gitRoot, 'acme/os');
      const builds: Build[] = [];
      for (let i = 0; i < 4; i += 1) {
        const { build } = await h.service.scheduler.enqueue({
          project: 'p',
          repository: 'acme/os',
          refType: 'branch',
          branch: 'master',
          commit: repo.commit('master', { n: String(i) }),
          kind: 'full',
          pusher: null,
          deliveryId: null,
          commits: [],
        });
        builds.push(await waitForFinal(h, build.id));
      }
      // Point the stable link back at the oldest kernel, as if newer ones were rolled back.
      const oldest = builds[0]!;
      const { symlinkSync, rmSync } = await import('node:fs');
      rmSync(join(h.config.kernelTarget, 'os-master.efi'));
      symlinkSync(oldest.artifact!, join(h.config.kernelTarget, 'os-master.efi'));
      const result = await h.service.gc();
      assert.deepEqual(
        { builds: result.builds, logs: result.logs, kernels: result.kernels },
        { builds: 2, logs: 2, kernels: 1 },
      );
      assert.ok(existsSync(join(h.config.kernelTarget, oldest.artifact!)), 'the linked kernel stays');
      assert.ok(!existsSync(join(h.config.kernelTarget, builds[1]!.artifact!)));
      assert.ok(!existsSync(oldest.logPath!) && !existsSync(builds[1]!.logPath!));
      assert.ok(
        !existsSync(timesPath(oldest.logPath!)) && !existsSync(timesPath(builds[1]!.logPath!)),
        'the line times go with their log',
      );
      for (const kept of builds.slice(2)) {
        assert.ok(existsSync(kept.logPath!) && existsSync(join(h.config.kernelTarget, kept.artifact!)));
        assert.ok(existsSync(timesPath(kept.logPath!)), 'a kept log keeps its line times');
      }
      assert.equal(readlinkSync(join(h.config.kernelTarget, 'os-master.efi')), oldest.artifact);
      const pruned = await h.service.store.getBuild(builds[1]!.id);
      assert.equal(pruned?.logPath, null);
      assert.equal(pruned?.artifact, null);
      const again = await h.service.gc();
      assert.equal(again.builds, 0, 'a second run finds nothing more to do');
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
