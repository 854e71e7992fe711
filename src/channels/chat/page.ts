import path from 'node:path';

// Plain HTML, CSS and JavaScript with nothing to bundle: served from the sources, whether onecc runs compiled
// (dist/src/channels/chat) or from TypeScript.
const fromSources = path.extname(__filename) === '.ts';

/** The customers' chat page onecc serves at /chat/. */
export const CHAT_PAGE_DIR = fromSources ? path.join(__dirname, 'www') : path.resolve(__dirname, '../../../../src/channels/chat/www');
