/**
 * `profile: zero-os-v1`: Zero-OS as the original autobuilder's first version built it (see
 * docs/zero-os.md). The gig-build scripts take two arguments: `$1` the version (the pushed branch
 * or tag name) and `$2` the directory of the initramfs checkout under `/`; they exit 1 without
 * both. The component scripts live in, and work in, the initramfs checkout of the base image, so
 * their `$2` is the base's checkout directory.
 */
import type { RawConfig } from '../schema.js';

type Rules = RawConfig['repositories'];

const component = (name: string, script: string): Rules[string] => ({
  base: 'zero-os/initramfs',
  checkout: `/${name}`,
  steps: [`bash /initramfs/autobuild/${script} "$AUTOBUILD_BRANCH" "$AUTOBUILD_BASE_CHECKOUT_NAME"`],
  publish: 'zero-os-{branch}-{name}-{short}.efi',
  link: 'zero-os-{branch}.efi',
  release_link: 'release-zero-os.efi',
});

export const ZERO_OS_V1: Rules = {
  'zero-os/initramfs': {
    image: 'ubuntu:16.04',
    checkout: '/initramfs',
    steps: [
      'apt-get update && apt-get install -y git',
      'bash /initramfs/autobuild/gig-build.sh "$AUTOBUILD_BRANCH" "$AUTOBUILD_CHECKOUT_NAME"',
    ],
    commit: 'zero-os/initramfs:{branch}',
    publish: 'zero-os-{branch}-generic-{short}.efi',
    link: 'zero-os-{branch}-generic.efi',
    release_link: 'release-zero-os-generic.efi',
  },
  'zero-os/core0': component('core0', 'gig-build-cores.sh'),
  'zero-os/g8ufs': component('g8ufs', 'gig-build-g8ufs.sh'),
};
