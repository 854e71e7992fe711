#!/usr/bin/env node
// Run by `npm run build` after tsc: bundles the video page's script with JsSIP (esbuild) next to its HTML, into
// VIDEO_PAGE_DIR. Nothing is fetched from a CDN at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { VIDEO_PAGE_DIR, VIDEO_PAGE_SOURCES } from './page';

async function main(): Promise<void> {
  rmSync(VIDEO_PAGE_DIR, { recursive: true, force: true });
  mkdirSync(VIDEO_PAGE_DIR, { recursive: true });
  copyFileSync(path.join(VIDEO_PAGE_SOURCES, 'index.html'), path.join(VIDEO_PAGE_DIR, 'index.html'));
  await build({
    entryPoints: [path.join(VIDEO_PAGE_SOURCES, 'video.js')],
    outfile: path.join(VIDEO_PAGE_DIR, 'video.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    logLevel: 'warning',
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`video page build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
