import t from 'tap';
import path from 'node:path';
import { matchLanguage, positionAnnouncement, sayNumber, waitAnnouncement, type PromptName } from '../../src/media/prompts/index';
import { readPromptTexts } from '../../src/media/prompts/generate';

const texts = new Map(readPromptTexts(path.resolve(__dirname, '../../media/text')).map((l) => [l.language, l]));

/** What a caller hears: the prompts' texts in order (English with spaces, Mandarin without, as it is written). */
function spoken(language: string, names: readonly PromptName[]): string {
  const catalog = texts.get(language)!;
  return names.map((name) => catalog.prompts[name]).join(language === 'en' ? ' ' : '');
}

t.test('numbers: 0-20 and tens are single prompts, 21-99 tens then units, a counted 2 has its own prompt', async (t) => {
  t.same(sayNumber(0), ['num-0']);
  t.same(sayNumber(12), ['num-12']);
  t.same(sayNumber(20), ['num-20']);
  t.same(sayNumber(35), ['num-30', 'num-5']);
  t.same(sayNumber(90), ['num-90']);
  t.same(sayNumber(99), ['num-90', 'num-9']);
  t.same(sayNumber(2), ['num-2']);
  t.same(sayNumber(2, 'count'), ['num-2-count']);
  t.same(sayNumber(22, 'count'), ['num-20', 'num-2'], '22 minutes is 二十二分鐘: only a lone 2 becomes 兩');
  for (const bad of [-1, 100, 2.5, Number.NaN]) t.throws(() => sayNumber(bad), RangeError, `${bad}`);
});

t.test('queue position in each language', async (t) => {
  t.same(positionAnnouncement(1), ['queue-position-next']);
  t.same(positionAnnouncement(12), ['queue-position-intro', 'num-12', 'queue-position-outro']);
  t.same(positionAnnouncement(100), ['queue-position-many']);
  const expected: Record<number, Record<string, string>> = {
    1: { en: 'You are next in line.', 'zh-TW': '下一位就輪到您了。', 'zh-CN': '下一位就轮到您了。' },
    2: { en: 'You are number two in the queue.', 'zh-TW': '您目前排在第二位。', 'zh-CN': '您目前排在第二位。' },
    12: { en: 'You are number twelve in the queue.', 'zh-TW': '您目前排在第十二位。', 'zh-CN': '您目前排在第十二位。' },
    20: { en: 'You are number twenty in the queue.', 'zh-TW': '您目前排在第二十位。', 'zh-CN': '您目前排在第二十位。' },
    35: { en: 'You are number thirty five in the queue.', 'zh-TW': '您目前排在第三十五位。', 'zh-CN': '您目前排在第三十五位。' },
  };
  for (const [position, byLanguage] of Object.entries(expected)) {
    for (const [language, sentence] of Object.entries(byLanguage)) {
      t.equal(spoken(language, positionAnnouncement(Number(position))), sentence, `${language} position ${position}`);
    }
  }
  for (const bad of [0, -3, 1.5]) t.throws(() => positionAnnouncement(bad), RangeError, `${bad}`);
});

t.test('estimated wait in each language: seconds rounded up to 10 under a minute, whole minutes above', async (t) => {
  t.same(waitAnnouncement(30), ['wait-intro', 'num-30', 'unit-seconds']);
  t.same(waitAnnouncement(1), ['wait-intro', 'num-10', 'unit-seconds']);
  t.same(waitAnnouncement(41), ['wait-intro', 'num-50', 'unit-seconds']);
  t.same(waitAnnouncement(55), ['wait-intro', 'num-1', 'unit-minute']);
  t.same(waitAnnouncement(90), ['wait-intro', 'num-2-count', 'unit-minutes']);
  t.same(waitAnnouncement(60 * 60), ['wait-intro', 'num-60', 'unit-minutes']);
  t.same(waitAnnouncement(61 * 60), ['wait-over-hour']);
  const expected: Record<number, Record<string, string>> = {
    30: {
      en: 'The estimated wait time is about thirty seconds',
      'zh-TW': '預計等候時間大約三十秒',
      'zh-CN': '预计等候时间大约三十秒',
    },
    90: { en: 'The estimated wait time is about two minutes', 'zh-TW': '預計等候時間大約兩分鐘', 'zh-CN': '预计等候时间大约两分钟' },
    300: { en: 'The estimated wait time is about five minutes', 'zh-TW': '預計等候時間大約五分鐘', 'zh-CN': '预计等候时间大约五分钟' },
    720: { en: 'The estimated wait time is about twelve minutes', 'zh-TW': '預計等候時間大約十二分鐘', 'zh-CN': '预计等候时间大约十二分钟' },
    60: { en: 'The estimated wait time is about one minute', 'zh-TW': '預計等候時間大約一分鐘', 'zh-CN': '预计等候时间大约一分钟' },
  };
  for (const [seconds, byLanguage] of Object.entries(expected)) {
    for (const [language, sentence] of Object.entries(byLanguage)) {
      t.equal(spoken(language, waitAnnouncement(Number(seconds))), sentence, `${language} wait ${seconds} s`);
    }
  }
  for (const bad of [-1, Number.POSITIVE_INFINITY]) t.throws(() => waitAnnouncement(bad), RangeError, `${bad}`);
});

t.test('a caller language tag picks the configured language that serves it', async (t) => {
  const configured = ['en', 'zh-TW', 'zh-CN'];
  const cases: [string, string][] = [
    ['en', 'en'],
    ['EN-us', 'en'],
    ['en-GB', 'en'],
    ['zh-tw', 'zh-TW'],
    ['zh_CN', 'zh-CN'],
    ['zh', 'zh-TW'],
    ['zh-Hant', 'zh-TW'],
    ['zh-HK', 'zh-TW'],
    ['zh-Hant-HK', 'zh-TW'],
    ['zh-Hans', 'zh-CN'],
    ['zh-SG', 'zh-CN'],
    ['zh-Hans-TW', 'zh-CN'],
    ['fr', 'en'],
  ];
  for (const [requested, served] of cases) t.equal(matchLanguage(requested, configured), served, requested);
  t.equal(matchLanguage('zh', ['en', 'zh-CN', 'zh-TW']), 'zh-CN', 'bare zh: the first configured Chinese');
  t.equal(matchLanguage('zh-HK', ['zh-CN', 'en']), 'zh-CN', 'no Traditional configured: any Chinese before the default');
  t.equal(matchLanguage('fr', ['zh-CN', 'en']), 'zh-CN', 'nothing close: the default');
});
