/**
 * A PostgreSQL server of the test's own, to stop and start under a running service (the shared
 * one must never be stopped). initdb into a temporary directory, run as user `postgres` when the
 * tests run as root (PostgreSQL refuses root), listening on 127.0.0.1 and a private socket dir.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The server binaries: $AUTOBUILDER_TEST_POSTGRES_BIN, else Debian's newest /usr/lib/postgresql/N/bin. */
function findBin(): string {
  if (process.env.AUTOBUILDER_TEST_POSTGRES_BIN) return process.env.AUTOBUILDER_TEST_POSTGRES_BIN;
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0] ?? '15';
  return `/usr/lib/postgresql/${newest}/bin`;
}
const BIN = findBin();

/**
 * Why these tests cannot run here (no PostgreSQL server binaries), or false. Under CI=true they
 * must run, so a missing server fails them instead.
 */
export const privatePostgresSkip: string | false =
  !existsSync(join(BIN, 'initdb')) && process.env.CI !== 'true'
    ? `no PostgreSQL server binaries at ${BIN} (install postgresql or set AUTOBUILDER_TEST_POSTGRES_BIN)`
    : false;

/** A port nothing listens on right now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class PrivatePostgres {
  private constructor(
    readonly root: string,
    readonly port: number,
  ) {}

  /** Makes the cluster (not started). Throws a clear error when the binaries are missing. */
  static async create(): Promise<PrivatePostgres> {
    const root = mkdtempSync(join(tmpdir(), 'ab-pg-'));
    const pg = new PrivatePostgres(root, await freePort());
    mkdirSync(pg.socketDir);
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      for (const dir of [root, pg.socketDir]) chownSync(dir, Number(stdout), Number(gid));
    }
    try {
      await pg.asPostgres(join(BIN, 'initdb'), [
        '-D',
        pg.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
      ]);
    } catch (error) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`cannot make a private PostgreSQL with ${BIN}/initdb: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return pg;
  }

  get dataDir(): string {
    return join(this.root, 'data');
  }

  get socketDir(): string {
    return join(this.root, 'sock');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections (`pg_ctl -w`). */
  async start(): Promise<void> {
    await this.asPostgres(join(BIN, 'pg_ctl'), [
      '-D',
      this.dataDir,
      '-l',
      join(this.root, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  }

  /** Stops it the way an operator's restart would: `fast` ends every open connection. */
  async stop(): Promise<void> {
    await this.asPostgres(join(BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Stops it when it runs and removes its files; safe to call twice. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }

  private async asPostgres(command: string, args: string[]): Promise<void> {
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', command, ...args]);
    else await run(command, args);
  }
}
