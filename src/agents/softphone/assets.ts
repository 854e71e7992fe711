import path from 'node:path';

// onecc runs compiled (dist/src/...) in production and from its TypeScript sources in tests; the page is a build
// output either way (esbuild bundles JsSIP into it), so both read it from dist/.
const fromSources = path.extname(__filename) === '.ts';

/** The page's sources in the repository: index.html, style.css, app.js (plain browser JavaScript). */
export const SOFTPHONE_SOURCES = fromSources ? __dirname : path.resolve(__dirname, '../../../../src/agents/softphone');

/** The built page onecc serves at /softphone/ (written by `npm run build`). */
export const SOFTPHONE_DIR = fromSources ? path.resolve(__dirname, '../../../dist/src/agents/softphone/www') : path.join(__dirname, 'www');
