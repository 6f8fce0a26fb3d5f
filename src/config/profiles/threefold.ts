/**
 * `profile: threefold`: Zero-OS as the original autobuilder's last version built it (see
 * docs/zero-os.md). `tf-build.sh <version> <directory> [release]` builds the initramfs in `/<directory>`
 * (a release build when the third argument is `release`, which this service passes for tag pushes);
 * `tf-build-zfs.sh <version> <directory>` builds 0-fs into the initramfs checkout of the base
 * image. Both exit 1 without their first two arguments and leave the kernel in `/target`.
 */
import type { RawConfig } from '../schema.js';

type Rules = RawConfig['repositories'];

export const THREEFOLD: Rules = {
  'threefoldtech/0-initramfs': {
    image: 'ubuntu:18.04',
    // GitHub sends the new name after a rename; the old ones still arrive from old hooks.
    aliases: ['zero-os/0-initramfs', 'zero-os/initramfs'],
    checkout: '/0-initramfs',
    steps: [
      'apt-get update && apt-get install -y git',
      'bash /0-initramfs/autobuild/tf-build.sh "$AUTOBUILD_BRANCH" "$AUTOBUILD_CHECKOUT_NAME" "$AUTOBUILD_RELEASE"',
    ],
    commit: 'threefoldtech/0-initramfs:{branch}',
    publish: 'zero-os-{branch}-generic-{short}.efi',
    link: 'zero-os-{branch}-generic.efi',
    release_link: 'release-zero-os-generic.efi',
  },
  'threefoldtech/0-fs': {
    base: 'threefoldtech/0-initramfs',
    // Before any initramfs build left an image, 0-fs builds from scratch: the first step then
    // fetches and builds the initramfs itself (it is skipped on a base image, which has it).
    base_missing: 'full',
    image: 'ubuntu:18.04',
    aliases: ['zero-os/0-fs'],
    checkout: '/0-fs',
    steps: [
      '[ -d "/$AUTOBUILD_BASE_CHECKOUT_NAME" ] || { apt-get update && apt-get install -y git && ' +
        'git clone https://github.com/threefoldtech/0-initramfs "/$AUTOBUILD_BASE_CHECKOUT_NAME" && ' +
        'bash "/$AUTOBUILD_BASE_CHECKOUT_NAME/autobuild/tf-build.sh" master "$AUTOBUILD_BASE_CHECKOUT_NAME"; }',
      'bash /0-initramfs/autobuild/tf-build-zfs.sh "$AUTOBUILD_BRANCH" "$AUTOBUILD_BASE_CHECKOUT_NAME"',
    ],
    publish: 'zero-os-{branch}-{name}-{short}.efi',
    link: 'zero-os-{branch}.efi',
    release_link: 'release-zero-os.efi',
  },
};
