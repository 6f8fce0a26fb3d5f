/**
 * `/monitor/assets/*`: the monitor's client code and stylesheet. web/*.ts is bundled by esbuild
 * in memory on the first request and kept, so `npm ci` is the only build step there is.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';

const WEB_DIRECTORY = fileURLToPath(new URL('../../../web/', import.meta.url));
const ENTRY_POINTS = ['monitor.ts', 'build.ts', 'list.ts'];
const STYLESHEETS = ['monitor.css'];

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const bytes = Buffer.from(body);
  return {
    body: bytes,
    type,
    etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`,
  };
}

/** Bundles every entry point at once: `monitor.js`, `build.js`. */
export async function bundleClient(): Promise<Map<string, Asset>> {
  // Loaded here so a service that never shows the monitor never loads esbuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: ENTRY_POINTS.map((entry) => join(WEB_DIRECTORY, entry)),
    outdir: join(WEB_DIRECTORY, 'dist'),
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    assets.set(basename(file.path), asset(Buffer.from(file.contents), 'text/javascript; charset=utf-8'));
  }
  for (const name of STYLESHEETS) {
    assets.set(name, asset(await readFile(join(WEB_DIRECTORY, name)), 'text/css; charset=utf-8'));
  }
  return assets;
}

export function registerAssetRoutes(app: FastifyInstance, deps: AppDeps): void {
  let assets: Promise<Map<string, Asset>> | null = null;
  const load = () => {
    assets ??= bundleClient().catch((error: unknown) => {
      assets = null; // a failed bundle is retried by the next request rather than kept
      throw error;
    });
    return assets;
  };

  app.get<{ Params: { file: string } }>('/monitor/assets/:file', async (request, reply) => {
    let found: Asset | undefined;
    try {
      found = (await load()).get(request.params.file);
    } catch (error) {
      deps.logger.error({ err: error }, 'bundling the monitor client failed');
      throw new AppError('INTERNAL', 'the monitor client could not be bundled');
    }
    if (!found) throw new AppError('NOT_FOUND', `no asset ${request.params.file}`);
    // Revalidated on every load (cheap, 304) so a new version is picked up without a rename.
    void reply.header('cache-control', 'no-cache').header('etag', found.etag);
    if (request.headers['if-none-match'] === found.etag) return reply.status(304).send();
    return reply.type(found.type).send(found.body);
  });
}
