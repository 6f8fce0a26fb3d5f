/**
 * Fills a migrated SQLite database with `count` finished builds (one in seven failed, the others
 * with a kernel and a log), written directly in one transaction: the benchmarks' "100k builds".
 */
import Database from 'better-sqlite3';

export function seedBuilds(
  path: string,
  count: number,
  names: { repository: (i: number) => string; branch: (i: number) => string } = {
    repository: (i) => `org/repo${i % 3}`,
    branch: (i) => `branch-${i % 40}`,
  },
): void {
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO builds (project, repository, ref_type, branch, commit_sha, kind, state, reason, pusher, steps, attempt, created_at, started_at, finished_at, artifact, log_path)
     VALUES ('p', ?, 'branch', ?, ?, 'full', ?, ?, 'someone', '[]', 1, ?, ?, ?, ?, ?)`,
  );
  // Each build's commit list in its own table (migration 0011).
  const insertCommits = db.prepare('INSERT INTO build_commits (build_id, commits) VALUES (?, ?)');
  const commits = JSON.stringify([
    {
      sha: 'a'.repeat(40),
      message: 'a commit message of ordinary length',
      author: 'A',
      url: 'https://github.com/x/y/commit/a',
    },
  ]);
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const time = new Date(1_700_000_000_000 + i * 60_000).toISOString();
      const failed = i % 7 === 0;
      const { lastInsertRowid } = insert.run(
        names.repository(i),
        names.branch(i),
        i.toString(16).padStart(40, '0'),
        failed ? 'failed' : 'success',
        failed ? 'step 1 exited with code 2' : null,
        time,
        time,
        time,
        failed ? null : `k-${i}.efi`,
        `/logs/build-${i}.log`,
      );
      insertCommits.run(lastInsertRowid, commits);
    }
  })();
  db.close();
}
