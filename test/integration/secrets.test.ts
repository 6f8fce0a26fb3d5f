/**
 * `secrets:` on a real engine through a signed webhook: the build gets the values as environment
 * variables, and the stored log and the live log stream show `***` instead. A repository file can
 * neither set secrets nor replace one through `env`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { isFinal, type Build } from '../../src/domain/build.js';
import { DockerExecutor } from '../../src/executor/docker/docker-executor.js';
import { requireDocker, TEST_IMAGE } from '../helpers/docker.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { removeHome, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { watch } from '../helpers/sse-watch.js';
import { pushPayload, webhookHeaders } from '../helpers/webhook.js';

const SECRET = 'secrets-webhook-secret';
const API_KEY = 'sup3r-s3cret-value';
const FILE_SECRET = 'from-a-file-4711';

describe('secrets (real engine)', () => {
  let h: Harness;
  let repo: LocalRepo;
  let dir: string;
  let delivery = 0;

  before(async () => {
    const docker = await requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'ab-secret-'));
    writeFileSync(join(dir, 'key'), `${FILE_SECRET}\n`);
    h = await startHarness({
      token: SECRET,
      executor: new DockerExecutor(docker),
      repositories: {
        'acme/sec': {
          image: TEST_IMAGE,
          checkout: '/src',
          network: 'none',
          steps: ['echo "token=$API_KEY"; echo "file=$FROM_FILE"; printf "%s" "$API_KEY" | wc -c'],
          secrets: { API_KEY, FROM_FILE: { file: join(dir, 'key') } },
        },
      },
    });
    await h.listen();
    repo = new LocalRepo(h.gitRoot, 'acme/sec');
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
    rmSync(dir, { recursive: true, force: true });
  });

  async function queue(commit: string): Promise<number> {
    const body = JSON.stringify(pushPayload({ repository: 'acme/sec', branch: 'master', commit }));
    const response = await fetch(`${h.url}/build/s/hook`, {
      method: 'POST',
      body,
      headers: webhookHeaders(body, { secret: SECRET, delivery: `sec-${++delivery}` }),
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: number }).id;
  }

  const final = (id: number) =>
    waitFor(async () => {
      const build = await h.service.store.getBuild(id);
      return build && isFinal(build.state) ? build : undefined;
    }, 120_000);

  it('gives the values to the build and masks them in the stored log and the live stream', async () => {
    h.service.scheduler.pause();
    const id = await queue(repo.commit('master', { README: 'x' }));
    const stream = await watch(h.url, `/api/builds/${id}/log/stream`);
    h.service.scheduler.resume();
    const build: Build = await final(id);
    assert.equal(build.state, 'success', build.reason ?? '');
    await waitFor(() => stream.text.includes('==> success'));
    stream.close();
    const log = readFileSync(build.logPath!, 'utf8');
    for (const text of [log, stream.text]) {
      assert.match(text, /token=\*\*\*/);
      assert.match(text, /file=\*\*\*/);
      assert.ok(!text.includes(API_KEY) && !text.includes(FILE_SECRET), text);
    }
    assert.match(log, new RegExp(`^\\s*${API_KEY.length}$`, 'm'), 'the build had the value itself');
  });

  it('a repository file can neither set a secret nor replace one through env', async () => {
    const refused = await final(
      await queue(repo.commit('master', { '.autobuilder.yaml': stringify({ secrets: { X: 'abcdef' } }) })),
    );
    assert.equal(refused.state, 'failed');
    assert.match(refused.reason!, /secrets: set by the server's rule only/);

    const replaced = await final(
      await queue(
        repo.commit('master', {
          '.autobuilder.yaml': stringify({
            env: { API_KEY: 'replaced-by-pusher' },
            steps: ['echo "k=$API_KEY"'],
          }),
        }),
      ),
    );
    assert.equal(replaced.state, 'success', replaced.reason ?? '');
    const log = readFileSync(replaced.logPath!, 'utf8');
    assert.match(log, /^k=\*\*\*$/m);
    assert.doesNotMatch(log, /replaced-by-pusher/);
  });
});
