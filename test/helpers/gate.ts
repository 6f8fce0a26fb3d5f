/**
 * A step that waits for the test instead of a clock: on a fake executor, the command `gate` (or
 * the name given) resolves `reached` when a build runs it and returns 0 once `release()` is called.
 */
import type { FakeExecutor } from '../../src/executor/fake/fake-executor.js';

export function gateCommand(executor: FakeExecutor, command = 'gate') {
  let release!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  const exec = executor.exec.bind(executor);
  executor.exec = async (handle, line, options) => {
    if (line !== command) return exec(handle, line, options);
    reached();
    await opened;
    return 0;
  };
  return { reached: reachedPromise, release };
}
