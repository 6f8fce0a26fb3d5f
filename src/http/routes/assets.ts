/**
 * `/monitor/assets/*`: the monitor's client code and stylesheet, as `npm run build` left them in
 * dist/web/ (scripts/bundle-web.mjs). Run from the TypeScript sources (tests, `npm run dev`), the
 * service bundles web/*.ts in memory once instead, with the same script: esbuild is a development
 * dependency, and a stale dist/ must not hide an edit.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';

const BUNDLE_SCRIPT = new URL('../../../scripts/bundle-web.mjs', import.meta.url);
/** dist/web/ seen from src/http/routes/ and from dist/http/routes/ alike. */
const BUNDLE_DIRECTORY = fileURLToPath(new URL('../../../dist/web/', import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

interface BundleScript {
  WEB_DIRECTORY: string;
  STYLESHEETS: string[];
  bundleWeb(options: { write: false }): Promise<{ outputFiles: { path: string; contents: Uint8Array }[] }>;
}

function asset(name: string, body: Buffer | string): Asset {
  const bytes = Buffer.from(body);
  return {
    body: bytes,
    type: TYPES[extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`,
  };
}

/** What `npm run build` wrote: `monitor.js`, `build.js`, `list.js`, `monitor.css`. */
async function readBuilt(): Promise<Map<string, Asset>> {
  const names = await readdir(BUNDLE_DIRECTORY).catch(() => {
    throw new Error(`${BUNDLE_DIRECTORY} is missing: run \`npm run build\``);
  });
  const assets = new Map<string, Asset>();
  for (const name of names.filter((n) => TYPES[extname(n)])) {
    assets.set(name, asset(name, await readFile(join(BUNDLE_DIRECTORY, name))));
  }
  return assets;
}

/** Development only: every entry point bundled at once, in memory. */
export async function bundleClient(): Promise<Map<string, Asset>> {
  const script = (await import(BUNDLE_SCRIPT.href)) as BundleScript;
  const result = await script.bundleWeb({ write: false });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    assets.set(name, asset(name, Buffer.from(file.contents)));
  }
  for (const name of script.STYLESHEETS) {
    assets.set(name, asset(name, await readFile(join(script.WEB_DIRECTORY, name))));
  }
  return assets;
}

export function registerAssetRoutes(app: FastifyInstance, deps: AppDeps): void {
  let assets: Promise<Map<string, Asset>> | null = null;
  const load = () => {
    assets ??= (FROM_SOURCES ? bundleClient() : readBuilt()).catch((error: unknown) => {
      assets = null; // a failed load is retried by the next request rather than kept
      throw error;
    });
    return assets;
  };

  app.get<{ Params: { file: string } }>('/monitor/assets/:file', async (request, reply) => {
    let found: Asset | undefined;
    try {
      found = (await load()).get(request.params.file);
    } catch (error) {
      deps.logger.error({ err: error }, 'loading the monitor client failed');
      throw new AppError('INTERNAL', 'the monitor client could not be loaded');
    }
    if (!found) throw new AppError('NOT_FOUND', `no asset ${request.params.file}`);
    // Revalidated on every load (cheap, 304) so a new version is picked up without a rename.
    void reply.header('cache-control', 'no-cache').header('etag', found.etag);
    if (request.headers['if-none-match'] === found.etag) return reply.status(304).send();
    return reply.type(found.type).send(found.body);
  });
}
