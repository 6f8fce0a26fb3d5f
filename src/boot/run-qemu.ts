/**
 * Runs one QEMU boot and watches its serial console (stdout) line by line for the marker. QEMU is
 * killed (SIGKILL: a guest has nothing to save) when the marker appears, at the timeout, when
 * `signal` aborts, or when no console byte came within `firstOutputMs` (a KVM probe); the promise
 * settles only after the process is gone, so no QEMU outlives its call. A QEMU left by a killed
 * service is found by its `-name` and killed at the next start (leftover-qemu.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { ProcessUser } from './unprivileged-user.js';

export interface QemuRunOptions {
  binary: string;
  args: string[];
  /** Opened read-only here and inherited as descriptors 3 and 4 (see qemu-command.ts). */
  kernel: string;
  initrd?: string;
  marker: string;
  timeoutMs: number;
  signal: AbortSignal;
  user?: ProcessUser;
  /** Give up early when the console stays silent this long (a hung accelerator). */
  firstOutputMs?: number;
  /** Each console line (and each QEMU error line, prefixed `qemu: `) as it arrives. */
  onLine: (line: string) => void;
}

export type QemuEnd = 'marker' | 'timeout' | 'silent' | 'exited' | 'aborted';

export interface QemuRunResult {
  end: QemuEnd;
  seconds: number;
  /** The last console lines, for a failure's reason. */
  tail: string[];
  exitCode: number | null;
  /** Whether the guest printed anything at all. */
  sawConsole: boolean;
  /** Set when QEMU could not be started at all. */
  error?: string;
}

/** A longer line is logged in pieces: a guest printing without newlines cannot fill our memory. */
const MAX_LINE = 4096;
const TAIL_LINES = 20;

export function runQemu(options: QemuRunOptions): Promise<QemuRunResult> {
  const started = performance.now();
  const tail: string[] = [];
  const descriptors: number[] = [];
  return new Promise<QemuRunResult>((resolve) => {
    let child: ReturnType<typeof spawn> | null = null;
    let end: QemuEnd | null = null;
    let sawOutput = false;
    let error: string | undefined;
    const timers: NodeJS.Timeout[] = [];
    const stop = (why: QemuEnd) => {
      if (end) return;
      end = why;
      child?.kill('SIGKILL');
    };
    const onAbort = () => stop('aborted');
    const finish = (exitCode: number | null) => {
      for (const timer of timers) clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      for (const fd of descriptors.splice(0)) closeSync(fd);
      const seconds = (performance.now() - started) / 1000;
      resolve({
        end: end ?? 'exited',
        seconds,
        tail,
        exitCode,
        sawConsole: sawOutput,
        ...(error ? { error } : {}),
      });
    };

    try {
      descriptors.push(openSync(options.kernel, 'r'));
      if (options.initrd) descriptors.push(openSync(options.initrd, 'r'));
      child = spawn(options.binary, options.args, {
        stdio: ['ignore', 'pipe', 'pipe', ...descriptors],
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      });
    } catch (caught) {
      error = (caught as Error).message;
      finish(null);
      return;
    }
    const piece = (text: string, fromConsole: boolean) => {
      const clean = text.replace(/\r/g, '');
      tail.push(clean);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine(fromConsole ? clean : `qemu: ${clean}`);
      if (fromConsole && clean.includes(options.marker)) stop('marker');
    };
    // A complete line longer than MAX_LINE (it may arrive in one chunk) goes out in pieces too.
    const line = (text: string, fromConsole: boolean) => {
      for (let at = 0; at === 0 || at < text.length; at += MAX_LINE) {
        piece(text.slice(at, at + MAX_LINE), fromConsole);
      }
    };
    const splitter = (fromConsole: boolean) => {
      let pending = '';
      // A character split between two chunks is joined, not replaced.
      const decoder = new StringDecoder('utf8');
      return {
        data(chunk: Buffer) {
          if (fromConsole) sawOutput = true;
          pending += decoder.write(chunk);
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const text of lines) line(text, fromConsole);
          while (pending.length > MAX_LINE) {
            line(pending.slice(0, MAX_LINE), fromConsole);
            pending = pending.slice(MAX_LINE);
          }
          // A marker printed without a newline (the guest powers off right after) counts too.
          if (fromConsole && pending.includes(options.marker)) stop('marker');
        },
        end() {
          pending += decoder.end();
          if (pending) line(pending, fromConsole);
          pending = '';
        },
      };
    };
    const serial = splitter(true);
    const errors = splitter(false);
    child.stdout!.on('data', serial.data);
    child.stderr!.on('data', errors.data);
    child.on('error', (caught) => {
      error = caught.message;
    });
    child.on('close', (code) => {
      serial.end();
      errors.end();
      finish(code);
    });
    // 'close' waits for the pipes too. QEMU cannot fork (spawn=deny), but should anything else
    // hold them open after it exited, what was read is enough: the pipes are dropped.
    child.on('exit', () => {
      const drop = setTimeout(() => {
        child?.stdout?.destroy();
        child?.stderr?.destroy();
      }, 1000);
      drop.unref();
      timers.push(drop);
    });
    timers.push(setTimeout(() => stop('timeout'), options.timeoutMs));
    if (options.firstOutputMs !== undefined) {
      timers.push(setTimeout(() => sawOutput || stop('silent'), options.firstOutputMs));
    }
    if (options.signal.aborted) stop('aborted');
    else options.signal.addEventListener('abort', onAbort, { once: true });
  });
}
