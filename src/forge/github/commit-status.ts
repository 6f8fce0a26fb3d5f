/**
 * GitHub commit statuses: pending when queued and running, then success / failure / error, with
 * a link to the build's monitor page. Optional (needs `github.token`). A failed status call is
 * logged and counted, never fails the build; 5xx answers are retried with back-off and rate
 * limits are waited out (octokit's retry and throttling plugins).
 */
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
// bottleneck stays a dependency of ours, although plugin-throttling already spaces writes (1 s, one
// at a time): its spacing can only be changed by passing a Bottleneck group, and the tests set 0.
import Bottleneck from 'bottleneck';
import type { Logger } from 'pino';
import type { Build, BuildState } from '../../domain/build.js';
import { renderTemplate, templateValues } from '../../domain/template.js';

type GitHubState = 'pending' | 'success' | 'failure' | 'error';

const STATE: Record<BuildState, GitHubState> = {
  queued: 'pending',
  running: 'pending',
  success: 'success',
  failed: 'failure',
  cancelled: 'error',
  superseded: 'error',
  interrupted: 'error',
};

export interface CommitStatusOptions {
  token: string;
  apiUrl: string;
  context: string;
  publicUrl: string;
  logger: Logger;
  /** Retries of a 5xx or rate-limited call. */
  retries?: number;
  /**
   * The unit of back-off: plugin-retry waits (n+1)² units after the n-th 5xx, and a rate limit's
   * `retry-after` is counted in units. GitHub's seconds by default; tests make it milliseconds.
   */
  backoffUnitMs?: number;
  /** GitHub asks integrators to leave a second between writes; tests shorten it. */
  writeSpacingMs?: number;
  onFailure?: (error: unknown) => void;
}

/** What the boot test found, as a status says it; empty without one. */
function bootText(build: Build): string {
  if (!build.boot) return '';
  if (build.boot.ok) return `, boots (${build.boot.seconds.toFixed(1)} s)`;
  // The reason's first clause: the console lines after it do not fit in 140 characters.
  return `: kernel did not boot (${(build.reason ?? 'boot test failed').split(/[;\n]/)[0]})`;
}

export function statusDescription(build: Build): string {
  const text =
    build.state === 'queued'
      ? 'queued'
      : build.state === 'running'
        ? 'building'
        : build.state === 'success'
          ? `built ${build.artifact ?? ''}`.trim() + bootText(build)
          : build.boot && !build.boot.ok
            ? `${build.state}${bootText(build)}`
            : `${build.state}${build.reason ? `: ${build.reason}` : ''}`;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/**
 * The status context: `github.context` rendered, with `/pr` for a pull request build, so the PR's
 * status and a push's status of the same commit (a PR from a branch of the repository) do not
 * overwrite each other, as other CIs keep push and PR statuses apart.
 */
export function statusContext(template: string, build: Build): string {
  const context = renderTemplate(
    template,
    templateValues(build.repository, build.refType, build.branch, build.commit),
  );
  return build.refType === 'pull' ? `${context}/pr` : context;
}

const RetryingOctokit = Octokit.plugin(retry, throttling);

export class CommitStatusReporter {
  private readonly octokit: InstanceType<typeof RetryingOctokit>;
  private readonly chains = new Map<number, Promise<void>>();
  private readonly sent = new Map<number, string>();

  constructor(private readonly options: CommitStatusOptions) {
    const retries = options.retries ?? 3;
    const unit = options.backoffUnitMs ?? 1000;
    this.octokit = new RetryingOctokit({
      auth: options.token,
      baseUrl: options.apiUrl,
      userAgent: 'zero-os-autobuilder',
      request: { retries },
      retry: { doNotRetry: [400, 401, 403, 404, 422, 429], retryAfterBaseValue: unit },
      throttle: {
        retryAfterBaseValue: unit,
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeSpacingMs ?? 1000 }),
        onRateLimit: (_after: number, _request: unknown, _octokit: unknown, count: number) => count < retries,
        onSecondaryRateLimit: (_after: number, _request: unknown, _octokit: unknown, count: number) =>
          count < retries,
      },
    });
  }

  /** Queues the status for this build's current state; calls for one build go out in order. */
  report(build: Build): Promise<void> {
    const state = STATE[build.state];
    const key = `${state}|${statusDescription(build)}`;
    if (this.sent.get(build.id) === key) return this.chains.get(build.id) ?? Promise.resolve();
    this.sent.set(build.id, key);
    const previous = this.chains.get(build.id) ?? Promise.resolve();
    const next = previous.then(() => this.send(build, state));
    this.chains.set(build.id, next);
    if (state !== 'pending') {
      const forget = () => (this.chains.get(build.id) === next ? this.forget(build.id) : undefined);
      // send() catches its own failures, so `next` does not reject; both paths forget all the same.
      next.then(forget, forget);
    }
    return next;
  }

  private forget(id: number): void {
    this.chains.delete(id);
    this.sent.delete(id);
  }

  private async send(build: Build, state: GitHubState): Promise<void> {
    const [owner = '', repo = ''] = build.repository.split('/');
    try {
      await this.octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner,
        repo,
        sha: build.commit,
        state,
        target_url: `${this.options.publicUrl}/monitor/builds/${build.id}`,
        description: statusDescription(build),
        context: statusContext(this.options.context, build),
      });
    } catch (error) {
      this.options.onFailure?.(error);
      this.options.logger.warn(
        { err: error, build: build.id, state },
        'could not report the commit status to GitHub',
      );
    }
  }

  /** Waits for every status call under way (for shutdown and tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}
