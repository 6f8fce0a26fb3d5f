/** The real Docker engine for tests. Under CI=true a missing engine fails loudly, never skips. */
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';

export const TEST_IMAGE = 'autobuilder-test/busybox:latest';

export async function requireDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
    await docker.getImage(TEST_IMAGE).inspect();
  } catch (error) {
    throw new Error(
      `These tests need a running Docker engine with the image ${TEST_IMAGE} ` +
        `(run .ci/run, or start dockerd and scripts/build-test-image.sh): ${(error as Error).message}`,
      { cause: error },
    );
  }
  return docker;
}

/** Containers labelled as ours, by `docker ps -a` as a user would check. */
/** Containers labelled as the service's; only one service instance's when `instance` is given. */
export function ourContainers(instance?: string): string[] {
  const filters = ['--filter', 'label=org.zero-os.autobuilder'];
  if (instance) filters.push('--filter', `label=org.zero-os.autobuilder.instance=${instance}`);
  return execFileSync('docker', ['ps', '-a', ...filters, '--format', '{{.ID}} {{.Labels}}'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
}

export async function removeImages(docker: Docker, repo: string): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [repo] } });
  for (const image of images) {
    for (const tag of image.RepoTags ?? [])
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
  }
}
