/** The `engines:` and `registry:` keys (docs/scale-out.md), validated with zod. */
import { z } from 'zod';

const ENGINE_URL =
  /^(unix:\/\/\/[^\0\s]+|tcp:\/\/[^/\s:@]+:\d{1,5}|ssh:\/\/([^/\s:@]+@)?[^/\s:@]+(:\d{1,5})?)$/;

export const engineSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_", "-" (at most 63)'),
    url: z
      .string()
      .regex(ENGINE_URL, 'use unix:///path/docker.sock, tcp://host:port or ssh://user@host[:port]'),
    capacity: z.number().int().min(1).max(64).default(1),
    tls: z
      .object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    ssh: z
      .object({
        key: z.string().min(1).optional(),
        host_key: z
          .string()
          .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a fingerprint as `ssh-keygen -lf` prints it: SHA256:…')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `host[:port]` of a Docker registry (Docker Distribution), as images name it. */
export const registrySchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i,
    'a registry as host or host:port (no scheme, no path)',
  );

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks across engines and rules; run on the raw file with the other cross checks. */
export function crossCheckEngines(raw: Loose): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!Array.isArray(raw.engines)) return problems;
  const seen = new Set<string>();
  raw.engines.forEach((engine: unknown, index) => {
    if (!isRecord(engine)) return;
    if (typeof engine.name === 'string') {
      if (seen.has(engine.name))
        problems.push({ path: `engines.${index}.name`, message: `"${engine.name}" is used twice` });
      seen.add(engine.name);
    }
    if (engine.tls !== undefined && typeof engine.url === 'string' && !engine.url.startsWith('tcp://'))
      problems.push({ path: `engines.${index}.tls`, message: '"tls" is for tcp:// engines only' });
    if (engine.ssh !== undefined && typeof engine.url === 'string' && !engine.url.startsWith('ssh://'))
      problems.push({ path: `engines.${index}.ssh`, message: '"ssh" is for ssh:// engines only' });
  });
  const repositories = isRecord(raw.repositories) ? raw.repositories : {};
  const incremental = Object.values(repositories).some((rule) => isRecord(rule) && rule.base !== undefined);
  if (raw.engines.length >= 2 && incremental && raw.registry === undefined)
    problems.push({
      path: 'registry',
      message:
        'needed with 2 or more engines and incremental rules: committed images reach the other engines through it',
    });
  return problems;
}
