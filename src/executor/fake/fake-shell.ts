/**
 * The fake engine's tiny shell (fake-executor.ts `exec`): commands joined by `&&` or `;`, each one
 * of `echo TEXT`, `echo TEXT > PATH`, `cat PATH`, `pwd`, `sleep SECONDS`, `exit N`, `true`,
 * `false`; `$NAME` from the environment; relative paths from the working directory. Anything else
 * is "not found" (127), as in sh.
 */
import { posix } from 'node:path';
import type { ExecOptions } from '../executor.js';

export interface FakeShell {
  env: Record<string, string>;
  cwd: string;
  /** Ends a running `sleep` (the exec's own signal, or its container removed). */
  signal: AbortSignal;
  onOutput: ExecOptions['onOutput'];
  /** The exit code when `signal` ends the command (or a throw, for a removed container). */
  ended: () => number;
  /** False when the path cannot be written (a read-only cache). */
  write: (path: string, content: Buffer) => boolean;
  /** A regular file's content, or null. */
  read: (path: string) => Buffer | null;
}

/** Runs `command`; resolves to its exit code. */
export async function runFakeShell(command: string, shell: FakeShell): Promise<number> {
  const at = (path: string) => posix.resolve(shell.cwd, path);
  const expand = (text: string) =>
    text.replace(/"?\$([A-Z_][A-Z0-9_]*)"?/g, (_, name: string) => shell.env[name] ?? '');
  for (const part of command.split(/\s*(?:&&|;)\s*/)) {
    if (shell.signal.aborted) return shell.ended();
    let match: RegExpExecArray | null;
    if ((match = /^echo (.*) > (\S+)$/.exec(part))) {
      if (!shell.write(at(match[2]!), Buffer.from(`${expand(match[1]!)}\n`))) {
        shell.onOutput(Buffer.from(`sh: can't create ${match[2]}: Read-only file system\n`), 'stderr');
        return 1;
      }
    } else if (part === 'pwd') shell.onOutput(Buffer.from(`${shell.cwd}\n`), 'stdout');
    else if ((match = /^echo ?(.*)$/.exec(part)))
      shell.onOutput(Buffer.from(`${expand(match[1]!)}\n`), 'stdout');
    else if ((match = /^cat (\S+)$/.exec(part))) {
      const content = shell.read(at(match[1]!));
      if (!content) {
        shell.onOutput(Buffer.from(`cat: can't open '${match[1]}': No such file or directory\n`), 'stderr');
        return 1;
      }
      shell.onOutput(content, 'stdout');
    } else if ((match = /^sleep ([\d.]+)$/.exec(part))) {
      const ms = Number(match[1]) * 1000;
      const aborted = await new Promise<boolean>((resolve) => {
        const onAbort = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          shell.signal.removeEventListener('abort', onAbort);
          resolve(false);
        }, ms);
        shell.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (aborted) return shell.ended();
    } else if ((match = /^exit (\d+)$/.exec(part))) return Number(match[1]);
    else if (part === 'false') return 1;
    else if (part !== 'true' && part !== '') {
      shell.onOutput(Buffer.from(`sh: ${part.split(' ')[0]}: not found\n`), 'stderr');
      return 127;
    }
  }
  return 0;
}
