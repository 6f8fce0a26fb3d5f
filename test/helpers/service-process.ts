/**
 * The real `autobuilder serve` as a child process in a temporary home, for tests that kill it
 * (kill -9 and restart): config file, SQLite, logs, kernels and git repos under one directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from './harness.js';

export class ServiceProcess {
  readonly home: string;
  readonly gitRoot: string;
  // Below Linux's ephemeral range (32768-60999): a port in it may be taken by any outgoing
  // connection of the moment (PostgreSQL, the engine, fetch), and the service then cannot listen.
  readonly port = 20000 + Math.floor(Math.random() * 12000);
  readonly url: string;
  private readonly configFile: string;
  private child: ChildProcess | null = null;

  /**
   * `dist`: run the built `dist/cli.js` (benchmarks) instead of `src/cli.ts` through tsx;
   * `nodeArgs`: flags for node itself (say `--cpu-prof`).
   */
  constructor(
    prefix: string,
    private readonly options: { dist?: boolean; nodeArgs?: string[] } = {},
  ) {
    this.home = mkdtempSync(join(tmpdir(), prefix));
    this.gitRoot = join(this.home, 'git');
    this.configFile = join(this.home, 'autobuilder.yaml');
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** The running process's id (benchmarks read its CPU time; kill -STOP / -CONT from a test). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes the config: this home's paths, SQLite and port, then `settings` (rules, secrets…). */
  configure(settings: Record<string, unknown>): void {
    const { home } = this;
    writeFileSync(
      this.configFile,
      stringify({
        http_port: this.port,
        host: '127.0.0.1',
        kernel_target: join(home, 'kernels'),
        logs_directory: join(home, 'logs'),
        tmp_directory: join(home, 'tmp'),
        data_directory: join(home, 'data'),
        database_url: `sqlite:${join(home, 'data', 'autobuilder.db')}`,
        git: { url: `${this.gitRoot}/{repository}.git` },
        ...settings,
      }),
    );
  }

  /** Starts the service and resolves once /healthz answers; `logFile` gets its log (stdout). */
  async start(options: { logFile?: string } = {}): Promise<void> {
    const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
    const entry = this.options.dist ? ['dist/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
    this.child = spawn(
      process.execPath,
      [...(this.options.nodeArgs ?? []), ...entry, '--config', this.configFile, 'serve'],
      { stdio: ['ignore', out, 'inherit'], env: { ...process.env, TOKEN: '' } },
    );
    if (typeof out === 'number') closeSync(out);
    await waitFor(async () => (await fetch(`${this.url}/healthz`).catch(() => null))?.ok, 30_000);
  }

  /** Sends `signal` and resolves when the process has exited. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Kills the process if it runs; `removeHome` also deletes the temporary home. */
  async close(removeHome = false): Promise<void> {
    await this.stop('SIGKILL');
    if (removeHome) rmSync(this.home, { recursive: true, force: true });
  }
}
