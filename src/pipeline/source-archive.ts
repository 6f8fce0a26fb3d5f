/**
 * The source at the exact commit as a tar of known length (for step 1's stdin, see
 * executor.ts `FirstStep.sourceOnStdin`): `git archive` spooled to the build's own temp dir, so that
 * its length is known before the first byte goes out and memory stays flat for a large tree.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ContainerHandle, Executor, SourceArchive } from '../executor/executor.js';
import type { Build } from '../domain/build.js';
import type { GitMirrors } from './git-mirror.js';
import { BuildFailure } from './build-failure.js';
import { throwIfAborted, untilAborted } from './until-aborted.js';

/**
 * The source of `build` once `fetch` (the mirror's `ensureCommit`: a failure text or null) is done:
 * `fetched` gives `git archive` of the exact commit under `checkout`, `copySource` puts it into a
 * created container (the older way in, for images without tar and rules with secrets).
 */
export function sourceAt(
  deps: { executor: Executor; mirrors: GitMirrors },
  build: Build,
  checkout: string,
  fetch: Promise<string | null>,
  signal: AbortSignal,
) {
  const prefix = checkout.replace(/^\/+|\/+$/g, '');
  const fetched = async () => {
    const failure = await untilAborted(signal, fetch);
    if (failure) throw new BuildFailure(failure);
    return deps.mirrors.archive(build.repository, build.commit, prefix);
  };
  const copySource = async (into: ContainerHandle) => {
    const tree = await fetched();
    throwIfAborted(signal);
    await untilAborted(signal, deps.executor.putArchive(into, '/', tree));
  };
  return { fetched, copySource };
}

/**
 * `git archive` of the commit (`tree`, from `fetched`) spooled into `tempDir` from now on, while
 * the container starts (what `docker run` pays too), instead of once step 1 asks for it. `source`
 * gives it to step 1 (the file is opened for reading only then). The build's `signal` ends the
 * spool, and `git archive` with it: a build that ends before step 1 does not copy its whole tree
 * into a removed directory. `settled` resolves once the spool has ended either way (its file no
 * longer written).
 */
export function spoolArchive(tree: Promise<NodeJS.ReadableStream>, tempDir: string, signal: AbortSignal) {
  const path = join(tempDir, 'source.tar');
  const spooled = tree.then(async (archive) => {
    await pipeline(archive, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal });
    return (await stat(path)).size;
  });
  const settled = spooled.then(
    () => undefined,
    () => undefined,
  );
  const source = async (): Promise<SourceArchive> => ({ bytes: await spooled, tar: createReadStream(path) });
  return { source, settled };
}
