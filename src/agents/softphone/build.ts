#!/usr/bin/env node
// Run by `npm run build` after tsc: the browser softphone's app.js bundled with JsSIP, next to its page and
// stylesheet, into SOFTPHONE_DIR.
import { bundlePage } from '../../lib/page-bundle';
import { SOFTPHONE_DIR, SOFTPHONE_SOURCES } from './assets';

bundlePage({ sources: SOFTPHONE_SOURCES, out: SOFTPHONE_DIR, script: 'app.js', copy: ['index.html', 'style.css'] }).catch((err: unknown) => {
  process.stderr.write(`softphone build failed: ${(err as Error).message}\n`);
  process.exit(1);
});
