/**
 * `autobuilder github hooks`: makes each configured repository's push webhook point at this
 * service, through GitHub's REST hooks API (as the original service did on its own). Idempotent:
 * a hook that already has our URL, JSON content, the events we need, is active and has a secret
 * when we sign is left alone. GitHub never returns a hook's secret (it answers `********`), so a
 * secret that differs cannot be seen: `rotateSecret` writes ours again on every hook of ours.
 */
import { Octokit } from '@octokit/core';

export interface HookSetupOptions {
  token: string;
  apiUrl: string;
  /** The service's public URL; hooks point at `<publicUrl>/build/<name>/hook`. */
  publicUrl: string;
  secret: string;
  repositories: string[];
  events?: string[];
  rotateSecret?: boolean;
  dryRun?: boolean;
}

export type HookAction = 'create' | 'update' | 'unchanged' | 'error';

export interface HookChange {
  repository: string;
  action: HookAction;
  url: string;
  /** What differs (update) or why it failed (error). */
  detail: string;
}

interface GitHubHook {
  id: number;
  name: string;
  active: boolean;
  events: string[];
  config: { url?: string; content_type?: string; secret?: string; insecure_ssl?: string | number };
}

export function hookUrl(publicUrl: string, repository: string): string {
  const name = repository.split('/')[1] ?? repository;
  return `${publicUrl.replace(/\/+$/, '')}/build/${encodeURIComponent(name)}/hook`;
}

/** What differs between a hook and the one we want; empty when it is as wanted. */
export function hookDifferences(hook: GitHubHook, wanted: { events: string[]; secret: string }): string[] {
  const problems: string[] = [];
  if (!hook.active) problems.push('inactive');
  if (hook.config.content_type !== 'json')
    problems.push(`content type ${hook.config.content_type ?? 'form'}`);
  const missing = wanted.events.filter((e) => !hook.events.includes(e) && !hook.events.includes('*'));
  if (missing.length > 0) problems.push(`missing events ${missing.join(', ')}`);
  if (wanted.secret && !hook.config.secret) problems.push('no secret');
  if (!wanted.secret && hook.config.secret) problems.push('a secret this service does not check');
  return problems;
}

export async function setUpHooks(options: HookSetupOptions): Promise<HookChange[]> {
  const octokit = new Octokit({ auth: options.token, baseUrl: options.apiUrl.replace(/\/+$/, '') });
  const events = options.events ?? ['push'];
  const changes: HookChange[] = [];
  for (const repository of options.repositories) {
    const [owner = '', repo = ''] = repository.split('/');
    const url = hookUrl(options.publicUrl, repository);
    const config = {
      url,
      content_type: 'json',
      insecure_ssl: '0',
      ...(options.secret ? { secret: options.secret } : {}),
    };
    try {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/hooks', {
        owner,
        repo,
        per_page: 100,
      });
      const hooks = data as unknown as GitHubHook[];
      const ours = hooks.find((hook) => hook.config.url === url);
      if (!ours) {
        if (!options.dryRun) {
          await octokit.request('POST /repos/{owner}/{repo}/hooks', {
            owner,
            repo,
            name: 'web',
            active: true,
            events,
            config,
          });
        }
        changes.push({ repository, action: 'create', url, detail: `events ${events.join(', ')}` });
        continue;
      }
      const differences = hookDifferences(ours, { events, secret: options.secret });
      if (options.rotateSecret && options.secret) differences.push('secret rotated');
      if (differences.length === 0) {
        changes.push({ repository, action: 'unchanged', url, detail: 'as wanted' });
        continue;
      }
      if (!options.dryRun) {
        await octokit.request('PATCH /repos/{owner}/{repo}/hooks/{hook_id}', {
          owner,
          repo,
          hook_id: ours.id,
          active: true,
          events: [...new Set([...ours.events, ...events])],
          config,
        });
      }
      changes.push({ repository, action: 'update', url, detail: differences.join('; ') });
    } catch (error) {
      const status = (error as { status?: number }).status;
      const message = (error as Error).message;
      changes.push({ repository, action: 'error', url, detail: status ? `${status}: ${message}` : message });
    }
  }
  return changes;
}
