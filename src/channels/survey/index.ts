export { MAX_COMMENT_CHARS, SurveyLinks } from './survey-links';
export { SURVEY_PAGE_DIR } from './page';
