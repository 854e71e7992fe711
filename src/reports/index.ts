export { BUCKET_MS, intervals, parseRange, ReportQueryError, type Interval, type ReportRange } from './intervals';
export { ReportStore, type CountField } from './report-store';
export { ReportRecorder, WAIT_BUCKETS_SECONDS, type AgentPeriod } from './report-recorder';
export { Reports, experienceOf, type Report, type ReportRow } from './reports';
export { Quality, EvaluationError, type Evaluation, type QualityForm, type Scorable } from './quality';
export { ReportApi } from './report-api';
export { toCsv } from './csv';
export { touchpoints, type SurveyResponse, type Touchpoint } from './survey-response';
