/**
 * Step 1 as the container's own process, with the source on its stdin when the container takes
 * it (executor.ts `FirstStep.sourceOnStdin`); an image without `tar` gets a new container with the
 * source copied in before the start (`recreate`), and step 1 runs there.
 */
import {
  SourceNotUnpacked,
  type ContainerHandle,
  type Executor,
  type RunOptions,
  type SourceArchive,
} from '../executor/executor.js';
import { BuildFailure } from './build-failure.js';

export interface FirstStepOptions extends Omit<RunOptions, 'source'> {
  source: () => Promise<SourceArchive>;
  /** Destroys `handle`, makes a container without stdin with the source in it, returns it. */
  recreate: (reason: string) => Promise<ContainerHandle>;
}

export async function runFirstStep(
  executor: Executor,
  handle: ContainerHandle,
  options: FirstStepOptions,
): Promise<number> {
  const { onOutput, signal } = options;
  if (!handle.sourceOnStdin) return executor.runFirstStep(handle, { onOutput, signal });
  try {
    return await executor.runFirstStep(handle, { onOutput, signal, source: options.source });
  } catch (error) {
    if (!(error instanceof SourceNotUnpacked)) throw error;
    // Not step 1's exit code: step 1 never ran.
    if (error.kind === 'failed') throw new BuildFailure(error.message);
    const copied = await options.recreate(error.message);
    return executor.runFirstStep(copied, { onOutput, signal });
  }
}
