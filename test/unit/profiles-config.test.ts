/**
 * Config: built-in profiles, aliases of renamed repositories, `base_missing`, release names; and
 * the pure parts they drive (publish names, step environment, queue grouping by canonical name).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type ConfigProblem } from '../../src/config/load-config.js';
import type { Build, BuildRef } from '../../src/domain/build.js';
import { publishNames } from '../../src/domain/publish-names.js';
import { templateValues } from '../../src/domain/template.js';
import { AppError } from '../../src/errors.js';
import { buildEnv } from '../../src/pipeline/build-env.js';
import { planQueue } from '../../src/scheduler/plan-queue.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { removeHome, startHarness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-profiles-'));
let files = 0;
const load = (yaml: string) => {
  const path = join(dir, `c${++files}.yaml`);
  writeFileSync(path, yaml);
  return loadConfig({ file: path, env: {}, cwd: dir });
};
function problems(yaml: string): ConfigProblem[] {
  try {
    load(yaml);
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.details as ConfigProblem[];
  }
  assert.fail('expected the config to be refused');
}

describe('built-in profiles', () => {
  it('without a file runs zero-os-v1, whose scripts get both arguments', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.profile, 'zero-os-v1');
    assert.deepEqual([...config.rules.keys()], ['zero-os/initramfs', 'zero-os/core0', 'zero-os/g8ufs']);
    const initramfs = config.rules.get('zero-os/initramfs')!;
    assert.equal(
      initramfs.steps[1],
      'bash /initramfs/autobuild/gig-build.sh "$AUTOBUILD_BRANCH" "$AUTOBUILD_CHECKOUT_NAME"',
    );
    assert.equal(
      config.rules.get('zero-os/core0')!.steps[0],
      'bash /initramfs/autobuild/gig-build-cores.sh "$AUTOBUILD_BRANCH" "$AUTOBUILD_BASE_CHECKOUT_NAME"',
    );
    assert.equal(initramfs.releaseLink, 'release-zero-os-generic.efi');
  });

  it('a file with only other keys still gets zero-os-v1 (as before profiles)', () => {
    assert.deepEqual(
      [...load('http_port: 1\n').rules.keys()],
      ['zero-os/initramfs', 'zero-os/core0', 'zero-os/g8ufs'],
    );
  });

  it('profile: threefold gives 0-initramfs (ubuntu:18.04, tf-build.sh with the release flag) and 0-fs', () => {
    const config = load('profile: threefold\n');
    assert.equal(config.profile, 'threefold');
    assert.deepEqual([...config.rules.keys()], ['threefoldtech/0-initramfs', 'threefoldtech/0-fs']);
    const initramfs = config.rules.get('threefoldtech/0-initramfs')!;
    assert.equal(initramfs.image, 'ubuntu:18.04');
    assert.match(
      initramfs.steps.at(-1)!,
      /tf-build\.sh "\$AUTOBUILD_BRANCH" "\$AUTOBUILD_CHECKOUT_NAME" "\$AUTOBUILD_RELEASE"$/,
    );
    const fs = config.rules.get('threefoldtech/0-fs')!;
    assert.equal(fs.base, 'threefoldtech/0-initramfs');
    assert.equal(fs.baseMissing, 'full');
    assert.equal(fs.image, 'ubuntu:18.04');
    assert.match(fs.steps.at(-1)!, /tf-build-zfs\.sh "\$AUTOBUILD_BRANCH" "\$AUTOBUILD_BASE_CHECKOUT_NAME"$/);
    // The old names find the rule; iteration lists each repository once.
    assert.equal(config.rules.get('zero-os/initramfs'), initramfs);
    assert.equal(config.rules.get('zero-os/0-fs'), fs);
    assert.equal(config.rules.size, 2);
  });

  it("a file's repositories replace a profile's entry whole, or add one", () => {
    const config = load(
      [
        'profile: threefold',
        'repositories:',
        '  threefoldtech/0-fs: { base: threefoldtech/0-initramfs, checkout: /0-fs, steps: [ok] }',
        '  acme/extra: { image: alpine, checkout: /src, steps: [ok] }',
      ].join('\n'),
    );
    assert.deepEqual(
      [...config.rules.keys()],
      ['threefoldtech/0-initramfs', 'threefoldtech/0-fs', 'acme/extra'],
    );
    assert.deepEqual(config.rules.get('threefoldtech/0-fs')!.steps, ['ok']);
    assert.equal(config.rules.get('threefoldtech/0-fs')!.baseMissing, 'fail');
  });

  it('an unknown profile is refused at its key', () => {
    assert.deepEqual(
      problems('profile: zero-os-v9\n').map((p) => p.path),
      ['profile'],
    );
  });
});

describe('aliases and base_missing validation', () => {
  const rule = (extra: string) => `{ checkout: /src, steps: [ok]${extra} }`;

  it('refuses an alias that is another rule, twice claimed, or the repository itself', () => {
    const found = problems(
      [
        'repositories:',
        `  acme/a: ${rule(', image: x, aliases: [acme/b, acme/old, acme/a]')}`,
        `  acme/b: ${rule(', image: x, aliases: [acme/old, "not a name"]')}`,
      ].join('\n'),
    );
    assert.deepEqual(found.map((p) => p.path).sort(), [
      'repositories.acme/a.aliases.0',
      'repositories.acme/a.aliases.2',
      'repositories.acme/b.aliases.0',
      'repositories.acme/b.aliases.1',
    ]);
    assert.match(
      found.find((p) => p.path.endsWith('acme/b.aliases.0'))!.message,
      /already an alias of acme\/a/,
    );
  });

  it('image with base only under base_missing: full; base_missing: full needs both', () => {
    const found = problems(
      [
        'repositories:',
        `  acme/base: ${rule(', image: x, commit: "acme/base:{branch}"')}`,
        `  acme/both: ${rule(', image: x, base: acme/base')}`,
        `  acme/lone: ${rule(', base: acme/base, base_missing: full')}`,
        `  acme/bad: ${rule(', base: acme/base, image: x, base_missing: sometimes')}`,
      ].join('\n'),
    );
    assert.deepEqual(found.map((p) => p.path).sort(), [
      'repositories.acme/bad',
      'repositories.acme/bad.base_missing',
      'repositories.acme/both',
      'repositories.acme/lone.base_missing',
    ]);
    assert.match(found.find((p) => p.path === 'repositories.acme/both')!.message, /base_missing: full/);
  });

  it('accepts base_missing: full with both, and a base named by its alias', () => {
    const config = load(
      [
        'repositories:',
        `  acme/new: ${rule(', image: x, commit: "acme/new:{branch}", aliases: [acme/old]')}`,
        `  acme/part: ${rule(', base: acme/old, image: y, base_missing: full')}`,
      ].join('\n'),
    );
    const part = config.rules.get('acme/part')!;
    assert.equal(part.base, 'acme/new');
    assert.equal(part.baseMissing, 'full');
    assert.equal(part.image, 'y');
  });

  it('release names need publish', () => {
    assert.deepEqual(
      problems(`repositories:\n  acme/a: ${rule(', image: x, release_link: r.efi')}\n`).map((p) => p.path),
      ['repositories.acme/a.release_link'],
    );
  });
});

describe('tag builds, step environment, grouping', () => {
  const rule = loadConfig({ env: {}, cwd: dir }).rules.get('zero-os/initramfs')!;
  const values = (refType: 'branch' | 'tag', ref: string) =>
    templateValues(rule.repository, refType, ref, 'abcdef0123');

  it('a branch publishes and moves link; a tag publishes its release name and moves only the release link', () => {
    assert.deepEqual(publishNames(rule, { refType: 'branch' }, values('branch', 'master')), {
      kernel: 'zero-os-master-generic-abcdef01.efi',
      link: 'zero-os-master-generic.efi',
      release: false,
    });
    assert.deepEqual(
      publishNames({ ...rule, releasePublish: 'r-{branch}.efi' }, { refType: 'tag' }, values('tag', 'v1.0')),
      {
        kernel: 'r-tag-v1.0.efi',
        link: 'release-zero-os-generic.efi',
        release: true,
      },
    );
    assert.deepEqual(
      publishNames({ ...rule, releaseLink: undefined }, { refType: 'tag' }, values('tag', 'master')),
      {
        kernel: 'zero-os-tag-master-generic-abcdef01.efi',
        release: true,
      },
    );
  });

  it('passes the checkout names and the release flag as environment, never into the command', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    const build = {
      id: 7,
      repository: 'zero-os/core0',
      refType: 'tag',
      branch: '$(x)',
      commit: 'c',
    } as Build;
    const env = buildEnv(build, config.rules.get('zero-os/core0')!, config.rules);
    assert.equal(env.AUTOBUILD_CHECKOUT_NAME, 'core0');
    assert.equal(env.AUTOBUILD_BASE_CHECKOUT_NAME, 'initramfs');
    assert.equal(env.AUTOBUILD_RELEASE, 'release');
    assert.equal(env.AUTOBUILD_BRANCH, '$(x)');
    assert.equal(buildEnv({ ...build, refType: 'branch' }, rule, config.rules).AUTOBUILD_RELEASE, '');
  });

  it('never runs two builds of one ref at once, whichever name each push came with', () => {
    const rules = load('profile: threefold\n').rules;
    const ref = (id: number, repository: string): BuildRef => ({
      id,
      repository,
      refType: 'branch',
      branch: 'master',
      kind: 'full',
    });
    const plan = planQueue([ref(2, 'zero-os/initramfs')], [ref(1, 'threefoldtech/0-initramfs')], 4, rules);
    assert.deepEqual(plan.start, []);
    assert.equal(plan.waiting.get(2), 'same branch busy (#1)');
    // 0-fs waits for its base's full build, queued under the old name.
    const fs: BuildRef = { ...ref(4, 'threefoldtech/0-fs'), kind: 'incremental' };
    const waiting = planQueue([ref(3, 'zero-os/0-initramfs'), fs], [], 4, rules);
    assert.equal(waiting.waiting.get(4), 'waiting for base build #3');
  });
});

describe('a renamed repository in the queue (fake executor, real SQLite)', () => {
  it('a push under the new name supersedes the queued one under the old name; each keeps its name', async () => {
    const h = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        'acme/new': fakeRule(['ok'], { aliases: ['acme/old'] }),
      },
    });
    try {
      h.service.scheduler.pause();
      const enqueue = (repository: string, commit: string) =>
        h.service.scheduler.enqueue({
          project: 't',
          repository,
          refType: 'branch',
          branch: 'master',
          commit,
          kind: 'full',
          pusher: null,
          deliveryId: null,
          commits: [],
        });
      const old = await enqueue('acme/old', 'a'.repeat(40));
      const now = await enqueue('acme/new', 'b'.repeat(40));
      assert.deepEqual(
        now.superseded.map((b) => b.id),
        [old.build.id],
      );
      assert.equal((await h.service.store.getBuild(old.build.id))!.repository, 'acme/old');
      assert.equal(now.build.repository, 'acme/new');
    } finally {
      await h.close();
      removeHome(h);
    }
  });
});
