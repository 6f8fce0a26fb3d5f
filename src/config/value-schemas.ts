/**
 * The config's value types (schema.ts builds the file's shape from them): templates and file
 * names, durations and ages, memory sizes, limits and capabilities, ref patterns, paths, the boot
 * test, GitHub logins. Each says what is wrong with a value in the words a user reads.
 */
import { z } from 'zod';
import { parseDuration, parseMemory } from '../domain/duration.js';
import { normaliseCapability } from '../domain/limits.js';
import { unknownPlaceholders } from '../domain/template.js';

export const template = z
  .string()
  .min(1)
  .refine((t) => unknownPlaceholders(t).length === 0, {
    message: 'unknown placeholder; known: {repository} {owner} {name} {branch} {commit} {short}',
  });

export const fileName = template.refine((t) => !t.includes('/') && t !== '.' && t !== '..', {
  message: 'must be a file name inside kernel_target, without "/"',
});

/** The longest duration a timer can wait for (Node's limit is 2^31-1 ms, about 24.8 days). */
const MAX_DURATION_MS = 24 * 86_400_000;

export const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 90s, 45m, 2h)` });
    return z.NEVER;
  }
  // Node's timers hold at most 2^31-1 ms (24.8 days); a longer one fires at once.
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is longer than the longest duration, 24d` });
    return z.NEVER;
  }
  return ms;
});

/** An age rather than a timer (`90d`): no 24-day cap, since nothing waits for it. */
export const age = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not a duration: "${value}" (use 30d, 12h)` });
    return z.NEVER;
  }
  return ms;
});

export const memory = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseMemory(value);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: `not a memory size: "${value}" (use 512m, 4g)` });
    return z.NEVER;
  }
  return bytes;
});

export const pidsLimit = z.number().int().min(16, 'at least 16 (the build shell and its steps need some)');

export const capability = z
  .string()
  .regex(/^(CAP_)?[A-Z][A-Z_]*$/i, 'a capability name such as NET_RAW')
  .transform(normaliseCapability);
export const DEFAULT_ARTIFACT_MAX_SIZE = 2 * 1024 ** 3;
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;
export const DEFAULT_CACHE_MAX_AGE_MS = 14 * 86_400_000;

/** `branches:` / `tags:` globs (domain/ref-filter.ts); `!pattern` excludes. */
export const refPatterns = z.array(
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^!?[^\s!][^\s]*$/, 'a glob such as master, "release/*" or "!wip/*", without spaces'),
);

export const absolutePath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path in the container');

/** The boot test (docs/configuration.md, "Boot test"): off unless a rule has `boot:`. */
export const bootSchema = z
  .object({
    marker: z
      .string({ error: 'required: text of a console line printed once the kernel is up' })
      .min(1)
      .refine((m) => !/[\r\n]/.test(m), 'one line: a console line contains it'),
    timeout: duration.default(3 * 60_000),
    memory: memory
      .refine((b) => b >= 64 * 1024 ** 2, 'at least 64m (a kernel and its initramfs must fit)')
      .default(1024 ** 3),
    append: z.string().default('console=ttyS0'),
    initrd: absolutePath
      .refine((p) => p.startsWith('/target/') && !p.split('/').includes('..'), {
        message: "must be a file under /target (the build container's output directory)",
      })
      .optional(),
    accel: z.enum(['tcg', 'kvm', 'auto'], { message: 'one of tcg, kvm, auto' }).default('tcg'),
  })
  .strict();

/** GitHub logins (case-insensitive, as GitHub's are). */
export const githubLogins = z
  .array(z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?$/, 'a GitHub login'))
  .default([]);
