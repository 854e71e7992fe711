#!/usr/bin/env node
// Run by `npm run build` after tsc: bundles the browser softphone's app.js with JsSIP into one file (esbuild), and
// copies the page and its stylesheet next to it, into SOFTPHONE_DIR. Nothing is fetched from a CDN at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SOFTPHONE_DIR, SOFTPHONE_SOURCES } from './assets';

async function main(): Promise<void> {
  rmSync(SOFTPHONE_DIR, { recursive: true, force: true });
  mkdirSync(SOFTPHONE_DIR, { recursive: true });
  for (const file of ['index.html', 'style.css']) copyFileSync(path.join(SOFTPHONE_SOURCES, file), path.join(SOFTPHONE_DIR, file));
  await build({
    entryPoints: [path.join(SOFTPHONE_SOURCES, 'app.js')],
    outfile: path.join(SOFTPHONE_DIR, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Browsers with RTCPeerConnection promises, optional chaining and class fields: every current one.
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`softphone build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
