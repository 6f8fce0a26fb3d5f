/** A build as the API shows it: the record plus where to find it. */
import { shortSha, type Build } from '../domain/build.js';

export interface BuildView extends Build {
  short: string;
  links: { api: string; log: string; monitor: string; artifact: string | null };
  waiting?: string | null;
}

export function presentBuild(build: Build, publicUrl: string, waiting?: string | null): BuildView {
  return {
    ...build,
    short: shortSha(build.commit),
    links: {
      api: `${publicUrl}/api/builds/${build.id}`,
      log: `${publicUrl}/api/builds/${build.id}/log`,
      monitor: `${publicUrl}/monitor/builds/${build.id}`,
      artifact: build.artifact ? `${publicUrl}/kernels/${encodeURIComponent(build.artifact)}` : null,
    },
    ...(waiting === undefined ? {} : { waiting }),
  };
}
