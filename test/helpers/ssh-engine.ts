/**
 * The second Docker engine reached over ssh:// (scripts/start-ssh-engine.sh: a private sshd on
 * loopback whose key login runs the docker CLI against that engine). `.ci/run` starts it and
 * exports AUTOBUILDER_TEST_SSH_ENGINE, AUTOBUILDER_TEST_SSH_KEY and AUTOBUILDER_TEST_SSH_HOST_KEY;
 * without them the script is run here. Under CI=true a missing one fails the test; elsewhere the
 * suite is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface SshEngine {
  /** `ssh://root@127.0.0.1:PORT` */
  url: string;
  /** The private key the sshd accepts. */
  key: string;
  /** The sshd's host key fingerprint (`SHA256:…`). */
  hostKey: string;
}

export function sshEngine(): SshEngine | string {
  try {
    const env = process.env;
    if (env.AUTOBUILDER_TEST_SSH_ENGINE && env.AUTOBUILDER_TEST_SSH_KEY && env.AUTOBUILDER_TEST_SSH_HOST_KEY)
      return {
        url: env.AUTOBUILDER_TEST_SSH_ENGINE,
        key: env.AUTOBUILDER_TEST_SSH_KEY,
        hostKey: env.AUTOBUILDER_TEST_SSH_HOST_KEY,
      };
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'start-ssh-engine.sh');
    const line = execFileSync('bash', [script], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
    const [url = '', key = '', hostKey = ''] = line.split(' ');
    return { url, key, hostKey };
  } catch (error) {
    const reason = `an ssh:// engine is needed (.ci/run starts it with scripts/start-ssh-engine.sh): ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(reason, { cause: error });
    return reason;
  }
}
