/**
 * A local image standing in for `ubuntu:16.04`/`ubuntu:18.04` of the Zero-OS profiles: the busybox
 * test image plus `bash` (busybox's shell, which runs the scripts' `==` and `${1:0:7}`) and an
 * `apt-get` that installs nothing (no network in tests). Made with the real engine, no pull.
 */
import type Docker from 'dockerode';
import { TEST_IMAGE } from './docker.js';

const SETUP = [
  'printf "#!/bin/sh\\nexec /bin/sh \\"\\$@\\"\\n" > /bin/bash',
  'printf "#!/bin/sh\\necho \\"apt-get stand-in: \\$*\\"\\n" > /bin/apt-get',
  'chmod +x /bin/bash /bin/apt-get',
].join(' && ');

export async function makeUbuntuStandIn(docker: Docker, image: string): Promise<string> {
  const [repo, tag = 'latest'] = image.split(':');
  const container = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ['sh', '-c', SETUP],
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`making ${image} exited with ${StatusCode}`);
    await container.commit({ repo, tag });
  } finally {
    await container.remove({ force: true });
  }
  return image;
}
