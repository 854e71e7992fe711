/**
 * The prompts onecc plays. Code refers to them by these names; every configured language has one
 * `<dir>/<language>/<name>.wav` for each (media/text/<language>.yaml holds the text they are generated from).
 */
export const PROMPT_NAMES = [
  // Sample IVR
  'welcome',
  'main-menu',
  'invalid-input',
  'no-input',
  'transferring',
  'closed',
  'goodbye',
  // Queue: announcements are composed from these by compose.ts
  'please-hold',
  'all-agents-busy',
  'queue-position-intro',
  'queue-position-outro',
  'queue-position-next',
  'queue-position-many',
  'wait-intro',
  'wait-over-hour',
  'unit-seconds',
  'unit-minute',
  'unit-minutes',
  // Numbers: 0-20, the tens up to 90, and 2 as it is said when counting (Mandarin 兩/两 rather than 二)
  'num-0',
  'num-1',
  'num-2',
  'num-2-count',
  'num-3',
  'num-4',
  'num-5',
  'num-6',
  'num-7',
  'num-8',
  'num-9',
  'num-10',
  'num-11',
  'num-12',
  'num-13',
  'num-14',
  'num-15',
  'num-16',
  'num-17',
  'num-18',
  'num-19',
  'num-20',
  'num-30',
  'num-40',
  'num-50',
  'num-60',
  'num-70',
  'num-80',
  'num-90',
  // Callback
  'callback-offer',
  'callback-confirmed',
  // Satisfaction survey
  'survey-intro',
  'survey-rate-satisfaction',
  'survey-rate-agent',
  'survey-resolved',
  'survey-thanks',
] as const;

export type PromptName = (typeof PROMPT_NAMES)[number];

/** Music on hold has no words, so one file serves every language. Relative to the prompts directory. */
export const MUSIC_ON_HOLD_FILE = 'music/on-hold.wav';

/** Where a prompt lives, relative to the prompts directory. */
export function promptFile(language: string, name: PromptName): string {
  return `${language}/${name}.wav`;
}

export function isPromptName(name: string): name is PromptName {
  return (PROMPT_NAMES as readonly string[]).includes(name);
}

/** Playback format every prompt file must have: what G.711 carries, so rtpengine only has to encode it. */
export const PROMPT_FORMAT = { sampleRate: 8000, channels: 1, bitsPerSample: 16 } as const;
