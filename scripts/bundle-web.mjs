// The monitor's client code: web/*.ts bundled by esbuild (a development dependency) into
// dist/web/ by `npm run build`, so the service never bundles anything while it answers.
// Run from its TypeScript sources (tests, `npm run dev`), the service bundles in memory with the
// same options instead (src/http/routes/assets.ts), so an edit to web/ shows without a build.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEB_DIRECTORY = join(ROOT, 'web');
export const BUNDLE_DIRECTORY = join(ROOT, 'dist', 'web');
const ENTRY_POINTS = ['monitor.ts', 'build.ts', 'list.ts'];
export const STYLESHEETS = ['monitor.css'];

/** `write: false` returns the files (`outputFiles`) instead of writing them. */
export function bundleWeb({ write }) {
  return build({
    entryPoints: ENTRY_POINTS.map((entry) => join(WEB_DIRECTORY, entry)),
    outdir: BUNDLE_DIRECTORY,
    bundle: true,
    write,
    format: 'esm',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(BUNDLE_DIRECTORY, { recursive: true });
  await bundleWeb({ write: true });
  for (const name of STYLESHEETS) await copyFile(join(WEB_DIRECTORY, name), join(BUNDLE_DIRECTORY, name));
}
