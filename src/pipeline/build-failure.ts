/** A failure the build itself caused (bad step, missing artifact…), carrying the reason users see. */
export class BuildFailure extends Error {}

/**
 * At the commit point the replica found its lease on the build gone (another replica presumed it
 * dead and took the build): nothing is published, and the build's record is not this replica's
 * to write any more.
 */
export class LeaseLost extends BuildFailure {
  constructor() {
    super('lost the lease: another replica took this build');
    this.name = 'LeaseLost';
  }
}
