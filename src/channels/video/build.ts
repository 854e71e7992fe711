#!/usr/bin/env node
// Run by `npm run build` after tsc: the video page's script bundled with JsSIP, next to its HTML, into VIDEO_PAGE_DIR.
import { bundlePage } from '../../lib/page-bundle';
import { VIDEO_PAGE_DIR, VIDEO_PAGE_SOURCES } from './page';

bundlePage({ sources: VIDEO_PAGE_SOURCES, out: VIDEO_PAGE_DIR, script: 'video.js', copy: ['index.html'] }).catch((err: unknown) => {
  process.stderr.write(`video page build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
