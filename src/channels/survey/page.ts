import path from 'node:path';

// Plain HTML and JavaScript with nothing to bundle: served from the sources, whether onecc runs compiled
// (dist/src/channels/survey) or from TypeScript.
const fromSources = path.extname(__filename) === '.ts';

/** The survey page onecc serves at /survey/ (a link from the video page or an email follow-up). */
export const SURVEY_PAGE_DIR = fromSources ? path.join(__dirname, 'www') : path.resolve(__dirname, '../../../../src/channels/survey/www');
