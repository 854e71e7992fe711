import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index';
import {
  MUSIC_ON_HOLD_FILE,
  PROMPT_NAMES,
  PromptLibrary,
  PromptLibraryError,
  checkPrompts,
  parseWav,
  promptFile,
  type PromptSettings,
} from '../../src/media/prompts/index';
import { MANIFEST_FILE, PromptTextError, PromptToolError, generatePrompts, readPromptTexts } from '../../src/media/prompts/generate';
import { encodeWav } from '../../src/media/prompts/wav';

const ROOT = path.resolve(__dirname, '../..');
const TEXT_DIR = path.join(ROOT, 'media/text');
const PROMPT_DIR = path.join(ROOT, 'media/prompts');
const LANGUAGES = ['en', 'zh-TW', 'zh-CN'];
const texts = new Map(readPromptTexts(TEXT_DIR).map((l) => [l.language, l]));

function samplesOf(file: string): { durationMs: number; samples: Int16Array; format: string } {
  const bytes = readFileSync(file);
  const info = parseWav(bytes);
  if ('reason' in info) throw new Error(`${file}: ${info.reason}`);
  const samples = new Int16Array(info.dataBytes / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(info.dataOffset + i * 2);
  return { durationMs: info.durationMs, samples, format: `${info.format}/${info.sampleRate}/${info.channels}/${info.bitsPerSample}` };
}

function rmsDbfs(samples: Int16Array): number {
  const meanSquare = samples.reduce((sum, v) => sum + v * v, 0) / samples.length;
  return 10 * Math.log10(meanSquare / 32768 ** 2);
}

/** A prompt directory in a test dir whose every file is a valid 0.2 s 8 kHz tone. */
function validPromptDir(t: Test): string {
  const dir = t.testdir();
  const tone = encodeWav(Int16Array.from({ length: 1600 }, (_, i) => Math.round(8000 * Math.sin(i / 3))), 8000);
  for (const language of LANGUAGES) {
    mkdirSync(path.join(dir, language));
    for (const name of PROMPT_NAMES) writeFileSync(path.join(dir, promptFile(language, name)), tone);
  }
  mkdirSync(path.join(dir, path.dirname(MUSIC_ON_HOLD_FILE)));
  writeFileSync(path.join(dir, MUSIC_ON_HOLD_FILE), tone);
  return dir;
}

const settings = (dir: string): PromptSettings => ({ dir, languages: LANGUAGES });

// The real setup step, as npm start and npm test run it: after their setup this only confirms the cache.
t.before(async () => {
  await generatePrompts({ textDir: TEXT_DIR, outDir: PROMPT_DIR });
});

t.test('the setup step made every prompt in every language: 8 kHz mono PCM with speech in it, of a plausible length', async (t) => {
  t.same(checkPrompts({ media: { prompts: { dir: 'media/prompts', languages: LANGUAGES } } }, ROOT), []);
  const library = PromptLibrary.load(settings(PROMPT_DIR));
  t.equal(library.defaultLanguage, 'en');
  for (const language of LANGUAGES) {
    for (const name of PROMPT_NAMES) {
      const text = texts.get(language)!.prompts[name];
      const file = library.resolve(name, language);
      t.equal(file, path.join(PROMPT_DIR, language, `${name}.wav`));
      const { durationMs, samples, format } = samplesOf(file);
      t.equal(format, '1/8000/1/16', `${language}/${name} format`);
      t.equal(library.durationMs(name, language), durationMs);
      t.ok(rmsDbfs(samples) > -30, `${language}/${name} has speech energy (${rmsDbfs(samples).toFixed(1)} dBFS RMS)`);
      // Spelled-out character codes or a voice that reads every letter would blow far past these bounds.
      const units = language === 'en' ? text.split(/\s+/).length : [...text].filter((c) => /\p{Script=Han}/u.test(c)).length;
      const [minS, maxS] = language === 'en' ? [0.15 * units, 0.3 + 0.6 * units] : [0.15 * units, 0.25 + 0.4 * units];
      t.ok(durationMs / 1000 >= minS && durationMs / 1000 <= maxS, `${language}/${name}: ${durationMs} ms for ${units} ${language === 'en' ? 'words' : 'characters'}`);
    }
  }
});

t.test('Mandarin prompts are Mandarin: no English fallback, Traditional characters read like Simplified', async (t) => {
  for (const language of ['zh-TW', 'zh-CN']) {
    const { voice, prompts } = texts.get(language)!;
    // espeak-ng marks a switch to another language's rules with "(en)": the plain cmn voice does that for every
    // character it only knows as pinyin.
    const phonemes = execFileSync('espeak-ng', ['-v', voice, '-x', '-q', '--stdin'], { input: Object.values(prompts).join('\n') }).toString();
    t.notMatch(phonemes, /\(en\)/, `${language}: espeak-ng stays in Mandarin`);
    for (const name of PROMPT_NAMES) {
      t.not(readFileSync(path.join(PROMPT_DIR, language, `${name}.wav`)).equals(readFileSync(path.join(PROMPT_DIR, 'en', `${name}.wav`))), true, `${language}/${name} is not the English file`);
    }
  }
  // 兩/两, 歡/欢: the same syllables in either script, so the same length.
  for (const name of ['num-2-count', 'welcome', 'goodbye', 'survey-thanks'] as const) {
    const tw = samplesOf(path.join(PROMPT_DIR, 'zh-TW', `${name}.wav`)).durationMs;
    const cn = samplesOf(path.join(PROMPT_DIR, 'zh-CN', `${name}.wav`)).durationMs;
    t.ok(Math.abs(tw - cn) <= 0.05 * cn, `${name}: zh-TW ${tw} ms, zh-CN ${cn} ms`);
  }
});

t.test('music on hold: a 24 s soft loop without a click where it wraps', async (t) => {
  const library = PromptLibrary.load(settings(PROMPT_DIR));
  const { durationMs, samples, format } = samplesOf(library.musicOnHold);
  t.equal(format, '1/8000/1/16');
  t.equal(durationMs, 24_000);
  t.equal(library.musicOnHoldDurationMs, 24_000);
  t.ok(Math.abs(rmsDbfs(samples) + 26) < 0.5, `about -26 dBFS RMS (${rmsDbfs(samples).toFixed(1)})`);
  let largestStep = 0;
  for (let i = 1; i < samples.length; i++) largestStep = Math.max(largestStep, Math.abs(samples[i]! - samples[i - 1]!));
  const seam = Math.abs(samples[0]! - samples[samples.length - 1]!);
  t.ok(seam <= largestStep, `the step from the last sample to the first (${seam}) is no larger than any inside (${largestStep})`);
});

t.test('the library hands out absolute paths, durations and falls back between languages', async (t) => {
  const dir = validPromptDir(t);
  const library = PromptLibrary.load({ dir: path.relative(process.cwd(), dir), languages: LANGUAGES });
  t.equal(library.resolve('welcome'), path.join(dir, 'en/welcome.wav'), 'default language, absolute path');
  t.equal(library.resolve('welcome', 'zh'), path.join(dir, 'zh-TW/welcome.wav'));
  t.equal(library.resolve('welcome', 'zh-Hans-SG'), path.join(dir, 'zh-CN/welcome.wav'));
  t.same(library.resolveAll(['wait-intro', 'num-5'], 'zh-CN'), [path.join(dir, 'zh-CN/wait-intro.wav'), path.join(dir, 'zh-CN/num-5.wav')]);
  t.equal(library.durationMs('num-5', 'zh-CN'), 200);
  t.equal(library.totalDurationMs(['wait-intro', 'num-5', 'unit-minutes'], 'en'), 600);
  t.equal(library.musicOnHold, path.join(dir, MUSIC_ON_HOLD_FILE));
});

t.test('missing or unplayable prompt files fail the configuration check, naming each file and why, all at once', async (t) => {
  const dir = validPromptDir(t);
  t.same(checkPrompts({ media: { prompts: settings(dir) } }), []);
  rmSync(path.join(dir, 'zh-TW/welcome.wav'));
  rmSync(path.join(dir, 'zh-TW/num-7.wav'));
  writeFileSync(path.join(dir, 'en/main-menu.wav'), encodeWav(new Int16Array(1600).fill(1000), 16000));
  writeFileSync(path.join(dir, 'en/goodbye.wav'), 'ID3 this is an mp3');
  truncateSync(path.join(dir, 'zh-CN/num-5.wav'), 1000);
  rmSync(path.join(dir, MUSIC_ON_HOLD_FILE));

  const issues = checkPrompts({ media: { prompts: settings(dir) } });
  const reasons = issues.map((issue) => issue.reason);
  t.ok(issues.every((issue) => issue.path.join('.') === 'media.prompts.dir'), 'reported against media.prompts.dir');
  t.same(reasons.slice(0, 4), [
    `${dir}/en/main-menu.wav: 16000 Hz mono 16-bit PCM, expected 8000 Hz mono 16-bit PCM`,
    `${dir}/en/goodbye.wav: not a WAV file (no RIFF/WAVE header)`,
    `${dir}/zh-CN/num-5.wav: truncated: the data chunk declares 3200 bytes, the file holds 956`,
    `${dir}/music/on-hold.wav: missing`,
  ]);
  t.match(reasons[4], `2 zh-TW prompt file(s) missing: ${dir}/zh-TW/welcome.wav, ${dir}/zh-TW/num-7.wav; the setup step`);
  t.equal(issues.length, 5);

  const error = t.throws(() => PromptLibrary.load(settings(dir))) as PromptLibraryError;
  t.type(error, PromptLibraryError);
  t.equal(error.problems.length, 6, 'every bad file, the two missing ones singly');
  t.match(error.message, `${dir}/zh-TW/num-7.wav: missing`);
});

t.test('a configured language without prompts points at its entry in media.prompts.languages', async (t) => {
  const dir = validPromptDir(t);
  rmSync(path.join(dir, 'zh-CN'), { recursive: true });
  t.same(checkPrompts({ media: { prompts: settings(dir) } }), [
    {
      path: ['media', 'prompts', 'languages', 2],
      reason: `no prompts for zh-CN: ${dir}/zh-CN does not exist; the setup step (bash src/setup/build-prompts.sh, run by npm start and npm test) generates them for each media/text/<language>.yaml`,
    },
  ]);
});

t.test('loadConfig with checkPrompts stops at load with file and line of media.prompts.dir', async (t) => {
  const dir = validPromptDir(t);
  rmSync(path.join(dir, 'en/please-hold.wav'));
  const site = path.join(dir, 'site.yaml');
  writeFileSync(site, `media:\n  prompts:\n    dir: ${dir}\n`);
  const error = t.throws(() => loadConfig({ file: site, env: {}, checks: [checkPrompts] })) as ConfigError;
  t.type(error, ConfigError);
  t.match(error.message, `${site}:3: media.prompts.dir: 1 en prompt file(s) missing: ${dir}/en/please-hold.wav`);
});

t.test('the generator remakes only what changed, keeps recordings it did not make, removes what it made and no longer needs', async (t) => {
  const work = t.testdir();
  const textDir = path.join(work, 'text');
  const outDir = path.join(work, 'prompts');
  cpSync(TEXT_DIR, textDir, { recursive: true });
  cpSync(PROMPT_DIR, outDir, { recursive: true });
  const total = LANGUAGES.length * PROMPT_NAMES.length + 1;

  const en = readFileSync(path.join(textDir, 'en.yaml'), 'utf8');
  writeFileSync(path.join(textDir, 'en.yaml'), en.replace('please-hold: Please hold.', 'please-hold: Please hold the line.'));
  const studio = encodeWav(Int16Array.from({ length: 8000 }, (_, i) => Math.round(5000 * Math.sin(i / 5))), 8000);
  writeFileSync(path.join(outDir, 'en/goodbye.wav'), studio);
  rmSync(path.join(outDir, 'zh-CN/num-7.wav'));
  const manifestFile = path.join(outDir, MANIFEST_FILE);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  manifest.files['en/retired.wav'] = manifest.files['en/welcome.wav'];
  writeFileSync(manifestFile, JSON.stringify(manifest));
  cpSync(path.join(outDir, 'en/welcome.wav'), path.join(outDir, 'en/retired.wav'));

  const first = await generatePrompts({ textDir, outDir, concurrency: 2 });
  t.same(first.generated.sort(), ['en/please-hold.wav', 'zh-CN/num-7.wav']);
  t.same(first.custom, ['en/goodbye.wav']);
  t.same(first.removed, ['en/retired.wav']);
  t.equal(first.cached.length, total - 3);
  t.ok(readFileSync(path.join(outDir, 'en/goodbye.wav')).equals(studio), 'the recording is untouched');
  t.ok(samplesOf(path.join(outDir, 'en/please-hold.wav')).durationMs > samplesOf(path.join(PROMPT_DIR, 'en/please-hold.wav')).durationMs);

  const second = await generatePrompts({ textDir, outDir });
  t.same(second.generated, []);
  t.same(second.custom, ['en/goodbye.wav']);
  // Once the recording is gone, the prompt is the generator's again.
  rmSync(path.join(outDir, 'en/goodbye.wav'));
  const third = await generatePrompts({ textDir, outDir });
  t.same(third.generated, ['en/goodbye.wav']);
  t.same(third.custom, []);
});

t.test('the generator refuses text files that do not match the catalog, naming every problem', async (t) => {
  const textDir = t.testdir({
    'en.yaml': 'voice: en-us\nspeed: 150\nprompts:\n  welcome: Hello\n  bogus: Huh\n',
    'fr.yaml': 'speed: fast\nprompts: {}\n',
  });
  const error = (await generatePrompts({ textDir, outDir: path.join(textDir, 'out') }).catch((err: unknown) => err)) as PromptTextError;
  t.type(error, PromptTextError);
  t.ok(error.problems.includes(`${textDir}/en.yaml: prompts.bogus: not a prompt of the catalog (src/media/prompts/catalog.ts)`));
  t.ok(error.problems.includes(`${textDir}/en.yaml: prompts.goodbye: text missing`));
  t.ok(error.problems.includes(`${textDir}/fr.yaml: voice: an espeak-ng voice name is required`));
  t.ok(error.problems.includes(`${textDir}/fr.yaml: speed: must be an integer from 80 to 450 (words per minute)`));
  const missingButWelcome = PROMPT_NAMES.length - 1;
  t.equal(error.problems.filter((p) => p.startsWith(`${textDir}/en.yaml`)).length, missingButWelcome + 1, 'and bogus');
});

t.test('the generator says which tool is missing', async (t) => {
  const saved = process.env['PATH'];
  process.env['PATH'] = t.testdir(); // no espeak-ng, no sox
  t.teardown(() => {
    process.env['PATH'] = saved;
  });
  const outDir = path.join(t.testdir(), 'out');
  const error = (await generatePrompts({ textDir: TEXT_DIR, outDir }).catch((err: unknown) => err)) as PromptToolError;
  t.type(error, PromptToolError);
  t.match(error.message, /^(espeak-ng|sox) is not installed \(Debian package (espeak-ng|sox); as root: bash src\/setup\/install-deps.sh runtime\)$/);
});
