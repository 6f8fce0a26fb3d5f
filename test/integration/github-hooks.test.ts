/**
 * `autobuilder github hooks` through the real CLI against a loopback server that answers like
 * GitHub's repository hooks API (GitHub is not reachable here).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';

interface Hook {
  id: number;
  name: string;
  active: boolean;
  events: string[];
  config: Record<string, string>;
}

/** Hooks per repository, kept like GitHub keeps them: the secret is never shown back. */
class FakeHooksApi {
  readonly hooks = new Map<string, Hook[]>();
  readonly writes: string[] = [];
  url = '';
  private nextId = 1;
  private readonly server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private shown(hook: Hook): Hook {
    return { ...hook, config: { ...hook.config, ...(hook.config.secret ? { secret: '********' } : {}) } };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (req.headers.authorization !== 'token gh-test-token')
        return send(401, { message: 'Bad credentials' });
      const match = /^\/repos\/([^/]+\/[^/]+)\/hooks(?:\/(\d+))?(?:\?.*)?$/.exec(req.url ?? '');
      if (!match) return send(404, { message: 'Not Found' });
      const repository = decodeURIComponent(match[1]!);
      if (repository === 'acme/forbidden') return send(404, { message: 'Not Found' });
      const list = this.hooks.get(repository) ?? [];
      this.hooks.set(repository, list);
      if (req.method === 'GET')
        return send(
          200,
          list.map((h) => this.shown(h)),
        );
      const input = JSON.parse(body || '{}') as Partial<Hook>;
      this.writes.push(`${req.method} ${repository}`);
      if (req.method === 'POST') {
        const hook: Hook = {
          id: this.nextId++,
          name: input.name ?? 'web',
          active: input.active ?? true,
          events: input.events ?? ['push'],
          config: input.config ?? {},
        };
        list.push(hook);
        return send(201, this.shown(hook));
      }
      const hook = list.find((h) => h.id === Number(match[2]));
      if (req.method === 'PATCH' && hook) {
        Object.assign(hook, { ...input, config: { ...hook.config, ...input.config } });
        return send(200, this.shown(hook));
      }
      return send(404, { message: 'Not Found' });
    });
  }
}

/** The config file alone decides: none of the service's own variables leak in from the caller. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !['TOKEN', 'GITHUB_TOKEN', 'PUBLIC_URL', 'WEBHOOK_SECRET'].includes(key),
  ),
);

describe('autobuilder github hooks', () => {
  const api = new FakeHooksApi();
  const home = mkdtempSync(join(tmpdir(), 'ab-hooks-'));
  const rule = { image: 'autobuilder-test/busybox:latest', checkout: '/src', steps: ['true'] };

  const cli = (
    args: string[],
    repositories: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => {
    const file = join(home, 'autobuilder.yaml');
    writeFileSync(
      file,
      stringify({
        public_url: 'https://builds.example.org',
        token: 'hook-secret',
        data_directory: join(home, 'data'),
        github: { token: 'gh-test-token', api_url: api.url },
        repositories,
        ...extra,
      }),
    );
    // Asynchronous: the fake API answers from this process, so it must not be blocked.
    return new Promise<{ status: number; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', '--config', file, 'github', 'hooks', ...args],
        { encoding: 'utf8', env: cleanEnv },
        (error, out, err) => resolve({ status: error ? Number(error.code ?? 1) : 0, out, err }),
      );
    });
  };

  before(() => api.start());
  after(async () => {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('creates a missing hook, then leaves it alone', async () => {
    const repos = { 'acme/os': rule };
    const dry = await cli(['--dry-run'], repos);
    assert.equal(dry.status, 0, dry.err);
    assert.match(dry.out, /acme\/os: would create https:\/\/builds\.example\.org\/build\/os\/hook/);
    assert.deepEqual(api.writes, [], 'a dry run changes nothing');

    const first = await cli([], repos);
    assert.equal(first.status, 0, first.err);
    assert.match(first.out, /acme\/os: create /);
    const [hook] = api.hooks.get('acme/os')!;
    assert.deepEqual(hook!.events, ['push']);
    assert.equal(hook!.config.url, 'https://builds.example.org/build/os/hook');
    assert.equal(hook!.config.content_type, 'json');
    assert.equal(hook!.config.secret, 'hook-secret');

    const second = await cli([], repos);
    assert.equal(second.status, 0, second.err);
    assert.match(second.out, /acme\/os: unchanged /);
    assert.deepEqual(api.writes, ['POST acme/os'], 'the second run writes nothing');
    assert.equal(api.hooks.get('acme/os')!.length, 1);
  });

  it('fixes a hook of ours that drifted, and reports a repository it cannot reach', async () => {
    api.hooks.set('acme/fixme', [
      {
        id: 99,
        name: 'web',
        active: false,
        events: ['issues'],
        config: { url: 'https://builds.example.org/build/fixme/hook', content_type: 'form' },
      },
    ]);
    api.writes.length = 0;
    const result = await cli([], { 'acme/fixme': rule, 'acme/forbidden': rule });
    assert.equal(result.status, 1, 'a repository that could not be set up makes the command fail');
    assert.match(
      result.out,
      /acme\/fixme: update .*inactive; content type form; missing events push; no secret/,
    );
    assert.match(result.out, /acme\/forbidden: error .*404/);
    const hook = api.hooks.get('acme/fixme')![0]!;
    assert.equal(hook.active, true);
    assert.deepEqual(hook.events.sort(), ['issues', 'push']);
    assert.equal(hook.config.content_type, 'json');
    assert.equal(hook.config.secret, 'hook-secret');
    assert.deepEqual(api.writes, ['PATCH acme/fixme']);
  });

  it('refuses to run without a GitHub token or with a loopback public_url', async () => {
    const noToken = await cli([], { 'acme/os': rule }, { github: { token: '', api_url: api.url } });
    assert.equal(noToken.status, 1);
    assert.match(noToken.err, /github\.token/);
    const local = await cli([], { 'acme/os': rule }, { public_url: 'http://127.0.0.1:5555' });
    assert.equal(local.status, 1);
    assert.match(local.err, /public_url is http:\/\/127\.0\.0\.1:5555/);
  });
});
