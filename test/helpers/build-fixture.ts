/** A whole Build record for pure-function tests. */
import type { Build } from '../../src/domain/build.js';

export function makeBuild(overrides: Partial<Build> = {}): Build {
  return {
    id: 1,
    project: 'p',
    repository: 'acme/os',
    refType: 'branch',
    branch: 'master',
    commit: 'a'.repeat(40),
    kind: 'full',
    state: 'queued',
    reason: null,
    pusher: null,
    deliveryId: null,
    commits: [],
    steps: [],
    artifact: null,
    image: null,
    boot: null,
    logPath: null,
    retryOf: null,
    attempt: 1,
    engine: null,
    pull: null,
    cause: null,
    owner: null,
    leaseExpiresAt: null,
    epoch: 0,
    cancelRequested: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}
