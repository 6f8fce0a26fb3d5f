/**
 * The environment of a build's steps. Facts of the push reach the steps as environment variables
 * only, never as text in a command line: a step quotes `"$AUTOBUILD_BRANCH"` and the shell takes it
 * as data, whatever characters the ref name has.
 */
import { posix } from 'node:path';
import type { Build } from '../domain/build.js';
import type { BuildRule, RuleLookup } from '../domain/rule.js';

/** `/initramfs` → `initramfs`: the `$2` of the Zero-OS build scripts (docs/zero-os.md). */
export const checkoutName = (checkout: string) => posix.basename(checkout);

export function buildEnv(build: Build, rule: BuildRule, rules: RuleLookup): Record<string, string> {
  const base = rule.base ? rules.get(rule.base) : undefined;
  return {
    ...rule.env,
    // The name the push came with (an alias, for a renamed repository); the rule's name is apart.
    AUTOBUILD_REPOSITORY: build.repository,
    AUTOBUILD_RULE: rule.repository,
    AUTOBUILD_BRANCH: build.branch,
    AUTOBUILD_REF_TYPE: build.refType,
    AUTOBUILD_COMMIT: build.commit,
    AUTOBUILD_BUILD_ID: String(build.id),
    AUTOBUILD_CHECKOUT_NAME: checkoutName(rule.checkout),
    // Where the base's source sits in the base image; a full build's own checkout otherwise.
    AUTOBUILD_BASE_CHECKOUT_NAME: checkoutName(base?.checkout ?? rule.checkout),
    AUTOBUILD_RELEASE: build.refType === 'tag' ? 'release' : '',
    ...(build.pull
      ? {
          AUTOBUILD_PR_NUMBER: String(build.pull.number),
          AUTOBUILD_PR_BASE_BRANCH: build.pull.baseBranch,
          AUTOBUILD_PR_HEAD_REPOSITORY: build.pull.headRepository,
        }
      : {}),
    // Server-owned; neither `env` nor a repository file's `env` can replace them. A build without
    // secrets has their names emptied: an image committed before secrets stayed out of images
    // (containerEnv) may still carry them in its configuration.
    ...(receivesSecrets(build) ? rule.secrets : emptied(rule.secrets, base?.secrets)),
  };
}

function emptied(...secrets: (Record<string, string> | undefined)[]): Record<string, string> {
  return Object.fromEntries(secrets.flatMap((s) => Object.keys(s ?? {})).map((name) => [name, '']));
}

/**
 * The environment the container is created with: the steps' without the secrets. `docker commit`
 * keeps a container's environment in the image, and later builds start from that image (a fork's
 * pull request among them, and anyone who pulls it from a mirror): a secret must reach the steps
 * only, through each exec's environment.
 */
export function containerEnv(env: Record<string, string>, rule: BuildRule): Record<string, string> {
  const secret = new Set(Object.keys(rule.secrets ?? {}));
  return Object.fromEntries(Object.entries(env).filter(([name]) => !secret.has(name)));
}

/**
 * Secrets go to pushes, triggers and pull requests from the repository itself (whose authors can
 * push there anyway); never to a fork's pull request, approved or trusted: its code is not ours.
 */
export function receivesSecrets(build: Pick<Build, 'refType' | 'pull'>): boolean {
  if (build.refType !== 'pull') return true;
  return build.pull !== null && !build.pull.fork;
}
