import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Builds a browser page served by onecc: copies its static files from `sources` into `out` and bundles its script
 * (with what it imports from npm, e.g. JsSIP) into one file there, so that nothing is fetched from a CDN at run time.
 */
export async function bundlePage(options: { readonly sources: string; readonly out: string; readonly script: string; readonly copy: readonly string[] }): Promise<void> {
  rmSync(options.out, { recursive: true, force: true });
  mkdirSync(options.out, { recursive: true });
  for (const file of options.copy) copyFileSync(path.join(options.sources, file), path.join(options.out, file));
  await build({
    entryPoints: [path.join(options.sources, options.script)],
    outfile: path.join(options.out, options.script),
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
