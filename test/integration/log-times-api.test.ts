/** GET /api/builds/:id/log/times over real HTTP: the times of a finished build, and bad input. */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { timesPath } from '../../src/domain/log-files.js';
import { FakeExecutor } from '../../src/executor/fake/fake-executor.js';
import { LocalRepo } from '../helpers/git-repo.js';
import { enqueuePush, removeHome, startHarness, waitForFinal, type Harness } from '../helpers/harness.js';
import { fakeRule } from '../helpers/fake-rule.js';

const REPOSITORY = 'acme/times';

interface Answer {
  recorded: boolean;
  startedAt: number | null;
  times: [number, number][];
}

describe('line times API', () => {
  let h: Harness;
  let repo: LocalRepo;

  before(async () => {
    h = await startHarness({
      executor: new FakeExecutor(),
      repositories: {
        [REPOSITORY]: fakeRule(['echo one && echo two', 'sleep 0.05 && echo three']),
      },
    });
    await h.listen();
    repo = new LocalRepo(h.gitRoot, REPOSITORY);
  });

  after(async () => {
    await h?.close();
    if (h) removeHome(h);
  });

  it('answers change points that date every line of the log, from the build start on', async () => {
    const queued = await enqueuePush(h, REPOSITORY, 'master', repo.commit('master', { a: '1' }));
    const build = await waitForFinal(h, queued.id);
    assert.equal(build.state, 'success', build.reason ?? '');
    const lines = readFileSync(build.logPath!, 'utf8').trimEnd().split('\n');
    const response = await fetch(`${h.url}/api/builds/${build.id}/log/times`);
    assert.equal(response.status, 200);
    const answer = (await response.json()) as Answer;
    assert.equal(answer.recorded, true);
    assert.equal(answer.startedAt, Date.parse(build.startedAt!));
    assert.equal(answer.times[0]![0], 1, 'line 1 is dated');
    const finished = Date.parse(build.finishedAt!);
    for (let i = 0; i < answer.times.length; i++) {
      const [line, ms] = answer.times[i]!;
      assert.ok(line >= 1 && line <= lines.length, `line ${line} of ${lines.length}`);
      assert.ok(ms >= answer.startedAt! && ms <= finished, `${ms} within the build`);
      if (i > 0) assert.ok(line > answer.times[i - 1]![0] && ms > answer.times[i - 1]![1]);
    }
    // "three" came after a 50 ms sleep: its line is dated at least 50 ms after "two".
    const timeOf = (n: number) => answer.times.filter(([line]) => line <= n).at(-1)![1];
    const two = lines.indexOf('two') + 1;
    const three = lines.indexOf('three') + 1;
    assert.ok(timeOf(three) - timeOf(two) >= 50, `${timeOf(two)} → ${timeOf(three)}`);

    // A range: the entry covering its first line, then the ones inside it.
    const ranged = (await (
      await fetch(`${h.url}/api/builds/${build.id}/log/times?from=${three}&to=${three}`)
    ).json()) as Answer;
    assert.deepEqual(ranged.times, [
      [answer.times.filter(([line]) => line <= three).at(-1)![0], timeOf(three)],
    ]);

    // A log from before line times: no file beside it.
    rmSync(timesPath(build.logPath!));
    const old = (await (await fetch(`${h.url}/api/builds/${build.id}/log/times`)).json()) as Answer;
    assert.deepEqual(old, { recorded: false, startedAt: answer.startedAt, times: [] });
  });

  it('refuses a bad range with 400 and an unknown build with 404', async () => {
    for (const query of ['from=0', 'from=x', 'from=5&to=4', 'from=1&to=20001', 'to=-1']) {
      const response = await fetch(`${h.url}/api/builds/1/log/times?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(((await response.json()) as { error: string }).error, 'BAD_REQUEST');
    }
    assert.equal((await fetch(`${h.url}/api/builds/1/log/times?from=1&to=20000`)).status, 200);
    assert.equal((await fetch(`${h.url}/api/builds/99999/log/times`)).status, 404);
  });
});
