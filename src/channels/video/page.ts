import path from 'node:path';

// As the softphone: the page bundles JsSIP at build time (build.ts), so onecc serves it from dist/ whether it runs
// compiled or from its TypeScript sources.
const fromSources = path.extname(__filename) === '.ts';

/** The page's sources: index.html and video.js (plain browser JavaScript). */
export const VIDEO_PAGE_SOURCES = fromSources ? path.join(__dirname, 'www') : path.resolve(__dirname, '../../../../src/channels/video/www');

/** The built page onecc serves at /video/ (written by `npm run build`). */
export const VIDEO_PAGE_DIR = fromSources ? path.resolve(__dirname, '../../../dist/src/channels/video/www') : path.join(__dirname, 'www');
