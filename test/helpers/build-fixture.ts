/** A whole Build record and a whole resolved BuildRule for pure-function tests. */
import type { Build } from '../../src/domain/build.js';
import type { BuildRule } from '../../src/domain/rule.js';

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

/** A rule as the config resolves it (every default filled in), for tests that skip the config. */
export function makeRule(overrides: Partial<BuildRule> = {}): BuildRule {
  return {
    repository: 'acme/os',
    image: 'x',
    checkout: '/src',
    steps: ['true'],
    env: {},
    network: 'none',
    artifact: '/target/vmlinuz.efi',
    timeoutMs: 60_000,
    memoryBytes: 1024 ** 3,
    pidsLimit: 256,
    capAdd: [],
    logMaxBytes: 1024 ** 2,
    artifactMaxBytes: 1024 ** 3,
    cancelRunning: false,
    repositoryConfig: true,
    ...overrides,
  };
}
