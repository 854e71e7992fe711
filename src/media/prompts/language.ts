/*
 * Which configured language serves a caller's language tag (BCP 47, e.g. from the trunk, the DID or the IVR):
 *   1. the same tag, ignoring case: zh-tw -> zh-TW;
 *   2. for Chinese, the same script: Traditional (zh-Hant, zh-TW, zh-HK, zh-MO) -> the first configured Traditional
 *      language, Simplified (zh-Hans, zh-CN, zh-SG, zh-MY) -> the first Simplified one. zh-HK callers get Mandarin
 *      in Traditional characters: there is no Cantonese prompt set;
 *   3. the first configured language with the same primary subtag: en-GB -> en, bare zh -> zh-TW (first in the
 *      default list);
 *   4. the default language, the first configured.
 */

const CHINESE_SCRIPT_OF_REGION: Readonly<Record<string, 'hant' | 'hans'>> = {
  tw: 'hant',
  hk: 'hant',
  mo: 'hant',
  cn: 'hans',
  sg: 'hans',
  my: 'hans',
};

/** hant or hans for a Chinese tag that says which (by script or region), otherwise undefined. */
function chineseScript(subtags: readonly string[]): 'hant' | 'hans' | undefined {
  for (const subtag of subtags.slice(1)) {
    if (subtag === 'hant' || subtag === 'hans') return subtag;
    const script = CHINESE_SCRIPT_OF_REGION[subtag];
    if (script !== undefined) return script;
  }
  return undefined;
}

export function matchLanguage(requested: string, configured: readonly string[]): string {
  const defaultLanguage = configured[0];
  if (defaultLanguage === undefined) throw new RangeError('matchLanguage: no configured languages');
  const wanted = requested.toLowerCase().replaceAll('_', '-').split('-');
  const candidates = configured.map((language) => ({ language, subtags: language.toLowerCase().split('-') }));
  const exact = candidates.find((c) => c.subtags.join('-') === wanted.join('-'));
  if (exact !== undefined) return exact.language;
  const samePrimary = candidates.filter((c) => c.subtags[0] === wanted[0]);
  if (wanted[0] === 'zh') {
    const script = chineseScript(wanted);
    const sameScript = samePrimary.find((c) => script !== undefined && chineseScript(c.subtags) === script);
    if (sameScript !== undefined) return sameScript.language;
  }
  return samePrimary[0]?.language ?? defaultLanguage;
}
