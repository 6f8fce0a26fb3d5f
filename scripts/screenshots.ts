/**
 * `npm run screenshots`: the README's pictures (docs/monitor.png, docs/build.png,
 * docs/monitor-phone.png) from a realistic service: several repositories, a failed build, a
 * running one, coloured output. A real service on loopback with the fake executor (no Docker
 * needed) and headless Chromium. Run it on purpose when the pages change; tests never write docs/.
 */
import { chromium } from 'playwright-core';
import type { ContainerHandle, ExecOptions } from '../src/executor/executor.js';
import { FakeExecutor } from '../src/executor/fake/fake-executor.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium.js';
import { LocalRepo } from '../test/helpers/git-repo.js';
import { removeHome, startHarness, waitFor, waitForFinal } from '../test/helpers/harness.js';
import { pushPayload, webhookHeaders } from '../test/helpers/webhook.js';

const ESC = '\x1b';
const green = (text: string) => `${ESC}[32m${text}${ESC}[0m`;
const bold = (text: string) => `${ESC}[1m${text}${ESC}[0m`;
const red = (text: string) => `${ESC}[1;31m${text}${ESC}[0m`;
const yellow = (text: string) => `${ESC}[33m${text}${ESC}[0m`;

interface Script {
  lines: string[];
  /** Seconds between lines. */
  pause?: number;
  exit?: number;
}

/** The fake executor, with the output of a few real-looking commands (the fake runs only `echo`). */
class ScriptedExecutor extends FakeExecutor {
  constructor(private readonly scripts: Record<string, Script>) {
    super();
  }

  override async exec(handle: ContainerHandle, command: string, options: ExecOptions): Promise<number> {
    const script = this.scripts[command];
    if (!script) return super.exec(handle, command, options);
    for (const line of script.lines) {
      if (options.signal?.aborted) return 137;
      options.onOutput(Buffer.from(`${line}\n`), 'stdout');
      if (script.pause) await new Promise((resolve) => setTimeout(resolve, script.pause! * 1000));
    }
    if (script.exit) return script.exit;
    return super.exec(handle, 'echo kernel > /target/vmlinuz.efi', options);
  }
}

const compile = (files: string[], count: number) =>
  Array.from({ length: count }, (_, i) => `  CC      ${files[i % files.length]!.replace('N', String(i))}`);

const SCRIPTS: Record<string, Script> = {
  'sh autobuild/tf-build.sh "$AUTOBUILD_BRANCH"': {
    pause: 0.12,
    lines: [
      bold('[+] initramfs: downloading packages'),
      '  busybox-1.36.1.tar.bz2       ok',
      '  eudev-3.2.14.tar.gz          ok',
      bold('[+] kernel: linux-6.6.32'),
      ...compile(
        [
          'kernel/sched/fairN.o',
          'drivers/net/ethernet/intel/e1000e/netdevN.o',
          'fs/btrfs/ctreeN.o',
          'net/ipv4/tcpN.o',
        ],
        600,
      ),
    ],
  },
  'make -j4 kernel': {
    lines: [
      bold('go build -o bin/core0 ./apps/core0'),
      ...compile(
        ['github.com/threefoldtech/0-core/base/pmN', 'github.com/threefoldtech/0-core/apps/core0/bootstrapN'],
        14,
      ),
      `${green('ok')}  built bin/core0 (21.4 MB)`,
    ],
  },
  'go test ./...': {
    exit: 1,
    lines: [
      `${green('ok')}  \tg8ufs/meta\t0.412s`,
      `${green('ok')}  \tg8ufs/rofs\t1.093s`,
      red('--- FAIL: TestMount (0.02s)'),
      '    mount_test.go:41: mount /tmp/g8ufs-1289: operation not permitted',
      `    mount_test.go:42: ${yellow('hint: the test needs CAP_SYS_ADMIN')}`,
      `${red('FAIL')}\tg8ufs/storage\t0.031s`,
      red('FAIL'),
    ],
  },
  'go vet ./...': { lines: ['# g8ufs', `${green('vet: no issues')}`] },
};

const rule = (steps: string[], publish?: string) => ({
  image: 'fake/base:latest',
  checkout: '/src',
  steps,
  ...(publish ? { publish } : {}),
});
const DOCS = new URL('../docs/', import.meta.url);

async function main(): Promise<void> {
  const harness = await startHarness({
    executor: new ScriptedExecutor(SCRIPTS),
    concurrency: 1,
    repositories: {
      'threefoldtech/0-initramfs': rule(['sh autobuild/tf-build.sh "$AUTOBUILD_BRANCH"']),
      'threefoldtech/0-core': rule(['make -j4 kernel'], 'zero-os-{branch}-core0-{short}.efi'),
      'threefoldtech/0-fs': rule(['go vet ./...', 'go test ./...']),
    },
  });
  const url = await harness.listen();
  const push = async (repository: string, branch: string, message: string, pusher: string) => {
    const repo = new LocalRepo(harness.gitRoot, repository);
    const commit = repo.commit(branch, { 'file.txt': `${Date.now()} ${Math.random()}` }, message);
    const payload = pushPayload({ repository, branch, commit, message });
    payload.pusher = { name: pusher };
    const body = JSON.stringify(payload);
    const response = await fetch(`${url}/build/zero-os/hook`, {
      method: 'POST',
      headers: webhookHeaders(body),
      body,
    });
    return ((await response.json()) as { id: number }).id;
  };
  try {
    await waitForFinal(
      harness,
      await push('threefoldtech/0-core', 'master', 'networkd: retry DHCP on link up', 'delandtj'),
    );
    await waitForFinal(
      harness,
      await push('threefoldtech/0-core', 'development', 'bump go to 1.22', 'muhamadazmy'),
    );
    const failed = await push('threefoldtech/0-fs', 'master', 'storage: mount with fuse3', 'xmonader');
    await waitForFinal(harness, failed);
    const running = await push('threefoldtech/0-initramfs', 'master', 'kernel 6.6.32, e1000e fix', 'maxux');
    await waitFor(async () => (await harness.service.store.getBuild(running))?.state === 'running');
    await push('threefoldtech/0-initramfs', 'development', 'try zstd initramfs', 'maxux');
    await push('threefoldtech/0-core', 'master', 'log rotation for containers', 'delandtj');

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(`${url}/monitor`);
    await page.locator('pre.tail').first().waitFor();
    await waitFor(
      async () => ((await page.locator('pre.tail').first().textContent()) ?? '').length > 200,
      15_000,
    );
    await page.screenshot({ path: new URL('monitor.png', DOCS).pathname, fullPage: true });
    await page.goto(`${url}/monitor/builds/${failed}`);
    await page.locator('#failure').waitFor({ state: 'visible' });
    await page.screenshot({ path: new URL('build.png', DOCS).pathname, fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${url}/monitor`);
    await phone.screenshot({ path: new URL('monitor-phone.png', DOCS).pathname });
    await browser.close();
    process.stdout.write('wrote docs/monitor.png, docs/build.png, docs/monitor-phone.png\n');
  } finally {
    await harness.close();
    removeHome(harness);
  }
}

await main();
