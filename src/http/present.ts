/** A build as the API shows it: the record plus where to find it. */
import { shortSha, type Build } from '../domain/build.js';
import { refLabel } from '../domain/pull-request.js';

export interface BuildView extends Build {
  short: string;
  /** How the ref reads: the branch or tag name, or `PR #12 <title>` for a pull request. */
  refLabel: string;
  links: { api: string; log: string; monitor: string; artifact: string | null };
  waiting?: string | null;
}

export function presentBuild(build: Build, publicUrl: string, waiting?: string | null): BuildView {
  return {
    ...build,
    short: shortSha(build.commit),
    refLabel: refLabel(build),
    links: {
      api: `${publicUrl}/api/builds/${build.id}`,
      log: `${publicUrl}/api/builds/${build.id}/log`,
      monitor: `${publicUrl}/monitor/builds/${build.id}`,
      artifact: build.artifact ? `${publicUrl}/kernels/${encodeURIComponent(build.artifact)}` : null,
    },
    ...(waiting === undefined ? {} : { waiting }),
  };
}

/**
 * A build as live events carry it: what the monitor's lists and the build page's header show.
 * Not the commit list (a push may carry 2048 commits, and an event goes to every watcher), nor
 * the delivery id, log path or image: `GET /api/builds/:id` has the whole record.
 */
export type BuildSummary = Omit<BuildView, 'commits' | 'deliveryId' | 'logPath' | 'image'> & {
  commitCount: number;
};

export function presentBuildSummary(build: Build, publicUrl: string, waiting?: string | null): BuildSummary {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { commits, deliveryId, logPath, image, ...rest } = presentBuild(build, publicUrl, waiting);
  return { ...rest, commitCount: commits.length };
}

/**
 * A build as the webhook answers it: the build object with a count instead of the commit list.
 * GitHub keeps the answer only for its delivery log, and a push's list (up to 2048 commits, some
 * 7 KB for twenty) made most of the bytes serialised and sent per push; `GET /api/builds/:id`
 * (`links.api`) has it.
 */
export type HookBuildView = Omit<BuildView, 'commits'> & { commitCount: number };

export function presentHookBuild(build: Build, publicUrl: string): HookBuildView {
  const { commits, ...rest } = presentBuild(build, publicUrl);
  return { ...rest, commitCount: commits.length };
}
