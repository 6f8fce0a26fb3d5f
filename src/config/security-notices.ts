/** What the start banner says about secrets, in plain words (one warning per line). */
import type { Config } from './config.js';

export function securityNotices(config: Config): string[] {
  const notices: string[] = [];
  if (!config.webhookSecret) {
    notices.push(
      'NO WEBHOOK SECRET: webhooks are accepted without a signature check. Set WEBHOOK_SECRET (or TOKEN) to the secret of the GitHub webhook.',
    );
  }
  if (config.apiTokens.length === 0) {
    notices.push(
      'NO API TOKEN: trigger, cancel, rebuild, pause and resume answer only clients on this host (127.0.0.0/8, ::1, not through a proxy); ' +
        'everyone else, builds included, gets 403.' +
        (config.webhookSecret ? ' The webhook secret does not authorise them.' : '') +
        ' Set API_TOKEN to allow them from elsewhere with "Authorization: Bearer <token>".',
    );
  }
  for (const engine of config.engines) {
    if (engine.url.startsWith('tcp://') && !engine.tls)
      notices.push(
        `ENGINE ${engine.name} WITHOUT TLS: ${engine.url} is spoken to in plain HTTP; whoever can reach that port controls the engine (root on its host). Give it "tls" (ca, cert, key).`,
      );
    if (engine.url.startsWith('ssh://') && !engine.ssh?.hostKey)
      notices.push(
        `ENGINE ${engine.name} HOST KEY NOT PINNED: any host answering at ${engine.url} is taken for the build host (builds, secrets and images go to it). Give it "ssh: { host_key: SHA256:… }" (ssh-keygen -lf of the host's key).`,
      );
  }
  return notices;
}
