/**
 * The source spool (pipeline/source-archive.ts): written while the container starts, given to
 * step 1 whole, and stopped by the build's end: a build that ends before step 1 does not read its
 * whole tree out of `git archive` into a removed directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { spoolArchive } from '../../src/pipeline/source-archive.js';
import { waitFor } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ab-spool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 20 chunks of 1 KB; the 4th waits for `open` (a large tree still being archived). */
function slowTree() {
  let read = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const stream = Readable.from(
    (async function* () {
      for (let i = 0; i < 20; i += 1) {
        read += 1;
        if (i === 3) await gate;
        yield Buffer.alloc(1024, i);
      }
    })(),
  );
  return { stream, open, read: () => read };
}

describe('source spool', () => {
  it('gives step 1 the whole archive with its length', async () => {
    const tree = slowTree();
    tree.open();
    const spool = spoolArchive(
      Promise.resolve(tree.stream),
      mkdtempSync(join(dir, 'whole-')),
      new AbortController().signal,
    );
    const { bytes, tar } = await spool.source();
    assert.equal(bytes, 20 * 1024);
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    assert.deepEqual(
      Buffer.concat(chunks),
      Buffer.concat(Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024, i))),
    );
  });

  it('stops reading the archive when the build ends, and settles', async () => {
    const tree = slowTree();
    const ended = new AbortController();
    const into = mkdtempSync(join(dir, 'ended-'));
    const spool = spoolArchive(Promise.resolve(tree.stream), into, ended.signal);
    await waitFor(() => tree.read() >= 4);
    ended.abort();
    tree.open();
    await spool.settled;
    assert.ok(tree.read() < 20, `read ${tree.read()} of 20 chunks after the build ended`);
    assert.equal(tree.stream.destroyed, true);
    await assert.rejects(spool.source());
    assert.ok(readFileSync(join(into, 'source.tar')).length < 20 * 1024);
  });
});
