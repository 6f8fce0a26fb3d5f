/** A failure the build itself caused (bad step, missing artifact…), carrying the reason users see. */
export class BuildFailure extends Error {}
