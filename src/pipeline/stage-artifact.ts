/**
 * Brings a build's artifact out of its container into a staging file of the service's own, through
 * the engine's archive API: never through a host path the build could point elsewhere. Whatever is
 * not a regular, non-empty file within `artifact_max_size` fails the build with a reason.
 */
import { formatSize } from '../domain/duration.js';
import type { BuildRule } from '../domain/rule.js';
import { FileRefused, type ContainerHandle, type Executor } from '../executor/executor.js';
import { BuildFailure } from './build-failure.js';

export function refusalReason(refused: FileRefused, maxBytes: number): string {
  const at = `artifact ${refused.path}`;
  switch (refused.kind) {
    case 'missing':
      return `artifact not found: ${refused.path}`;
    case 'symlink':
      return `${at} is a symbolic link, not a regular file`;
    case 'fifo':
      return `${at} is a FIFO, not a regular file`;
    case 'device':
      return `${at} is a device node, not a regular file`;
    case 'directory':
      return `${at} is a directory, not a regular file`;
    case 'not-regular':
      return `${at} is not a regular file`;
    case 'empty':
      return `${at} is empty`;
    case 'too-large':
      return `${at} is larger than artifact_max_size (${formatSize(maxBytes)})`;
  }
}

export async function stageArtifact(
  executor: Executor,
  handle: ContainerHandle,
  rule: BuildRule,
  staging: string,
  signal: AbortSignal,
): Promise<number> {
  try {
    const { bytes } = await executor.copyFileOut(handle, rule.artifact, staging, {
      maxBytes: rule.artifactMaxBytes,
      signal,
    });
    return bytes;
  } catch (error) {
    if (error instanceof FileRefused) throw new BuildFailure(refusalReason(error, rule.artifactMaxBytes));
    throw error;
  }
}
