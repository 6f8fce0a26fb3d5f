/** LogTail: a log read from its file, then followed on the bus, joined by byte offset (no gap, no repeat). */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventBus } from '../../src/live/event-bus.js';
import { LogTail, type LogChunk } from '../../src/live/log-tail.js';

describe('log tail: file then bus, joined by byte offset', () => {
  const setup = (initial: string, from = 0) => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-tail-'));
    const path = join(dir, 'build.log');
    writeFileSync(path, initial);
    const bus = new EventBus();
    const chunks: LogChunk[] = [];
    const tail = new LogTail(
      { bus, buildId: 1, path: () => path, write: (c) => (chunks.push(c), true), drained: async () => {} },
      from,
    );
    /** What BuildLog does: write the bytes, then publish them with their offset. */
    let offset = Buffer.byteLength(initial);
    const print = (bytes: Buffer | string, publish = true) => {
      const buffer = Buffer.from(bytes);
      appendFileSync(path, buffer);
      if (publish) bus.publishLog({ buildId: 1, offset, text: buffer.toString('utf8') });
      offset += buffer.length;
    };
    /** The text from `from` on, and the last id is the file's size. */
    const check = (expected: string) => {
      assert.equal(chunks.map((c) => c.text).join(''), expected);
      assert.equal(chunks.at(-1)?.end, offset);
      rmSync(dir, { recursive: true, force: true });
    };
    return { tail, print, check };
  };

  it('sends each byte once when chunks arrive during the file read, overlap it, or skip some', async () => {
    const { tail, print, check } = setup('a\nbé\n', 2);
    const started = tail.start(); // the read is under way: these are held, then deduplicated
    print('c\n');
    print('d ✓\n');
    await started;
    print('e\n');
    print('f\n', false); // never published: must come from the file
    print('g\n');
    tail.stop();
    check('bé\nc\nd ✓\ne\nf\ng\n');
  });

  it('reads from the file when a piece of a long line was cut inside a character', async () => {
    const { tail, print, check } = setup('');
    await tail.start();
    const check3 = Buffer.from('x✓✓\n'); // ✓ is 3 bytes: cut after the first byte of the first one
    print(check3.subarray(0, 2));
    print(check3.subarray(2));
    print('next\n');
    tail.stop();
    check('x✓✓\nnext\n');
  });
});
