import { loadConfig } from '../../src/config/index';
import type { DialplanLookups } from '../../src/ivr/dialplan/index';
import { isPromptName } from '../../src/media/prompts/index';

const config = loadConfig({ env: {} });

/**
 * What onecc itself checks dialplans against on its defaults: the prompt catalog in every configured language, and
 * the queues of config/default.yaml.
 */
export const realLookups: DialplanLookups = {
  languages: config.media.prompts.languages,
  promptExists: (name) => isPromptName(name),
  queueExists: (name) => config.acd.queues.some((q) => q.name === name),
};
