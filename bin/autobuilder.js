#!/usr/bin/env node
// The compiled CLI in dist/, built by `npm run build` (run by `npm ci` through the prepare
// script). tsx is a development tool: `npm run dev` runs the TypeScript sources.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('autobuilder: dist/cli.js is missing; run `npm run build` (or `npm ci`) first\n');
  process.exit(1);
}
await import(compiled.href);
