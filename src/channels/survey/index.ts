export { SurveyLinks } from './survey-links';
export { SURVEY_PAGE_DIR } from './page';
