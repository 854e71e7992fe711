export { MUSIC_ON_HOLD_FILE, PROMPT_FORMAT, PROMPT_NAMES, isPromptName, promptFile, type PromptName } from './catalog';
export { MAX_SPOKEN_NUMBER, MAX_SPOKEN_WAIT_MINUTES, positionAnnouncement, sayNumber, waitAnnouncement, type NumberUse } from './compose';
export { matchLanguage } from './language';
export {
  PromptLibrary,
  PromptLibraryError,
  checkPrompts,
  type PromptConfigIssue,
  type PromptProblem,
  type PromptSettings,
  type PromptsConfigView,
} from './library';
export { parseWav, type WavInfo } from './wav';
