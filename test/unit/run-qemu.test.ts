/**
 * runQemu's watching and stopping, with a shell standing in for QEMU's console (the integration
 * tests run the real QEMU): marker with and without a newline, timeout, abort, a silent start,
 * endless lines, the tail kept for the reason, and no process left once it returns.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runQemu, type QemuRunOptions } from '../../src/boot/run-qemu.js';

function shell(script: string, options: Partial<QemuRunOptions> = {}) {
  const lines: string[] = [];
  let pid: number | undefined;
  const run = runQemu({
    binary: '/bin/sh',
    // The descriptors arrive as 3 (and 4): the script reports it can read them.
    args: ['-c', `echo "pid $$"; ${script}`],
    kernel: '/etc/hostname',
    marker: 'READY',
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    onLine: (line) => {
      lines.push(line);
      pid ??= /^pid (\d+)$/.exec(line) ? Number(line.slice(4)) : undefined;
    },
    ...options,
  });
  return { run, lines, pid: () => pid };
}

const gone = (pid: number | undefined) =>
  pid !== undefined && (!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/cmdline`).length === 0);

describe('runQemu', () => {
  it('stops at the marker line and gives the console lines as they come', async () => {
    const { run, lines, pid } = shell(
      'cat <&3 >/dev/null && echo "kernel fd readable"; printf "a\\r\\nREADY now\\n"; sleep 30',
    );
    const result = await run;
    assert.equal(result.end, 'marker');
    assert.ok(result.seconds < 10);
    assert.deepEqual(lines.slice(1), ['kernel fd readable', 'a', 'READY now']);
    assert.ok(gone(pid()), 'the process is gone when runQemu returns');
  });

  it('sees a marker printed without a newline', async () => {
    const { run } = shell('printf "READY"; sleep 30');
    assert.equal((await run).end, 'marker');
  });

  it('kills at the timeout', async () => {
    const { run, lines, pid } = shell('echo started; exec sleep 30', { timeoutMs: 500 });
    const result = await run;
    assert.equal(result.end, 'timeout');
    assert.ok(gone(pid()));
    assert.equal(lines.length, 2, 'pid and started: nothing else came');
  });

  it('keeps the last 20 lines, a long line in pieces of 4096 characters', async () => {
    const { run } = shell(
      'i=0; while [ $i -lt 30 ]; do echo "line $i"; i=$((i+1)); done; head -c 10000 /dev/zero | tr "\\0" x; echo',
    );
    const result = await run;
    assert.equal(result.end, 'exited');
    assert.equal(result.tail.length, 20);
    assert.equal(result.tail.at(-1), 'x'.repeat(10000 - 2 * 4096), 'the rest of the long line');
    assert.equal(result.tail.at(-2), 'x'.repeat(4096));
    assert.equal(result.tail.at(-3), 'x'.repeat(4096));
    assert.equal(result.tail[0], 'line 13');
  });

  it('kills on abort', async () => {
    const controller = new AbortController();
    const { run, lines, pid } = shell('echo started; sleep 30', { signal: controller.signal });
    while (!lines.includes('started')) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    assert.equal((await run).end, 'aborted');
    assert.ok(gone(pid()));
  });

  it('gives up on a silent start (a hung accelerator) after firstOutputMs', async () => {
    const result = await runQemu({
      binary: '/bin/sh',
      args: ['-c', 'echo "qemu warning" >&2; sleep 30'],
      kernel: '/etc/hostname',
      marker: 'READY',
      timeoutMs: 10_000,
      firstOutputMs: 300,
      signal: new AbortController().signal,
      onLine: () => undefined,
    });
    assert.equal(result.end, 'silent');
    assert.equal(result.sawConsole, false);
    assert.deepEqual(result.tail, ['qemu warning']);
  });

  it('reports an exit before the marker, and a binary that cannot start', async () => {
    const exited = await shell('echo "Kernel panic"; exit 3').run;
    assert.equal(exited.end, 'exited');
    assert.equal(exited.exitCode, 3);
    const missing = await shell('true', { binary: '/nonexistent/qemu' }).run;
    assert.equal(missing.end, 'exited');
    assert.match(missing.error ?? '', /ENOENT/);
  });
});
