export { calendarState } from './business-hours';
export { compileDialplan, type CompileResult } from './compile-dialplan';
export { DialplanSet, type DialplanRoute, type DialplanSetEvents, type DialplanSetOptions } from './dialplan-set';
export { DialplanError, formatDialplanProblem, type DialplanProblem } from './errors';
export { CALL_VARIABLES, type DialplanLookups } from './read-nodes';
export {
  NODE_TYPES,
  WAITING_NODE_TYPES,
  exitsOf,
  type AnswerNode,
  type Audio,
  type BranchCase,
  type BranchNode,
  type Calendar,
  type CollectNode,
  type Condition,
  type Dialplan,
  type DialplanNode,
  type Holiday,
  type HangupNode,
  type HttpNode,
  type MenuNode,
  type NodeType,
  type NumberRoute,
  type PlayNode,
  type QueueNode,
  type SetNode,
  type SurveyNode,
  type SurveyQuestion,
  type SurveyScale,
  type TransferNode,
  type TransferTarget,
  type VoicemailNode,
  type WeeklyHours,
} from './types';
