#!/usr/bin/env node
// The compiled CLI (dist/, built by `npm ci` through the prepare script), else the TypeScript
// sources through tsx.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
