/** The build log: bounded, and never throws into the executor's stream callbacks. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildLog } from '../../src/live/build-log.js';
import { EventBus } from '../../src/live/event-bus.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-buildlog-'));

describe('BuildLog', () => {
  it('stops at maxBytes, ends with a marker line and reports the limit once', () => {
    const path = join(dir, 'capped.log');
    const reasons: string[] = [];
    const log = new BuildLog(path, 1, new EventBus(), { maxBytes: 1000, onFailure: (r) => reasons.push(r) });
    log.line('==> step 1/1: flood');
    for (let i = 0; i < 500; i++)
      log.output(Buffer.from(`line ${i} of the flood\n`), i % 2 ? 'stderr' : 'stdout');
    log.line('==> failed: not written');
    log.close();
    assert.deepEqual(reasons, ['log limit exceeded (1000 bytes)']);
    assert.equal(log.failure, 'log limit exceeded (1000 bytes)');
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(
      lines.at(-1),
      '==> log limit exceeded (1000 bytes): the build is stopped, later output is not kept',
    );
    assert.ok(statSync(path).size <= 1000 + 100, `${statSync(path).size} bytes`);
    assert.ok(
      lines.slice(1, -2).every((line) => /^line \d+ of the flood$/.test(line)),
      'only whole lines before the marker',
    );
  });

  it('starts a new file: the log of an old build under the same name (ids restart with a new database) is not kept', () => {
    const path = join(dir, 'reused.log');
    writeFileSync(path, 'an old build of another database\n'.repeat(100));
    const log = new BuildLog(path, 1, new EventBus(), { maxBytes: 1000 });
    log.line('==> build #1');
    log.close();
    assert.equal(readFileSync(path, 'utf8'), '==> build #1\n');
  });

  it('a failed write (ENOSPC on /dev/full) fails the log, does not throw, and stops writing', () => {
    const reasons: string[] = [];
    const log = new BuildLog('/dev/full', 2, new EventBus(), { onFailure: (r) => reasons.push(r) });
    assert.doesNotThrow(() => {
      log.output(Buffer.from('first line\n'));
      log.output(Buffer.from('second line\n'));
      log.line('==> ours');
      log.close();
    });
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, /^log write failed: ENOSPC/);
  });

  it('a log that cannot be opened fails the same way instead of throwing', () => {
    const reasons: string[] = [];
    const blocked = join(dir, 'capped.log', 'below-a-file.log');
    const log = new BuildLog(blocked, 3, new EventBus(), { onFailure: (r) => reasons.push(r) });
    log.line('nothing');
    log.close();
    assert.match(reasons[0] ?? '', /^log write failed: (ENOTDIR|EEXIST)/);
    assert.equal(existsSync(blocked), false);
  });
});
