/** The built-in rules: Zero-OS as the original autobuilder built it (see docs/zero-os.md). */
import type { RawConfig } from './schema.js';

const component = (name: string, script: string) => ({
  base: 'zero-os/initramfs',
  checkout: `/${name}`,
  steps: [`bash /initramfs/autobuild/${script} "$AUTOBUILD_BRANCH"`],
  publish: 'zero-os-{branch}-{name}-{short}.efi',
  link: 'zero-os-{branch}.efi',
});

export const ZERO_OS_DEFAULTS: RawConfig = {
  repositories: {
    'zero-os/initramfs': {
      image: 'ubuntu:16.04',
      checkout: '/initramfs',
      steps: [
        'apt-get update && apt-get install -y git',
        'bash /initramfs/autobuild/gig-build.sh "$AUTOBUILD_BRANCH"',
      ],
      commit: 'zero-os/initramfs:{branch}',
      publish: 'zero-os-{branch}-generic-{short}.efi',
      link: 'zero-os-{branch}-generic.efi',
    },
    'zero-os/core0': component('core0', 'gig-build-cores.sh'),
    'zero-os/g8ufs': component('g8ufs', 'gig-build-g8ufs.sh'),
  },
};
