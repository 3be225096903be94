#!/usr/bin/env node
// Runs the compiled CLI (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('audiencehub: dist/ is missing; run `npm ci` (or `npm run build`) first');
  process.exit(1);
}
await import(entry.href);
