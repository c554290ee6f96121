/**
 * ElevenLabs voices by language and gender, for AIs whose `tts_type` is `elevenlabs` and
 * that name no `tts_voice_id`. The table is the one the platform documents for AI Talk
 * ("Built-in ElevenLabs Voice IDs"); VoIPBIN keys it by language *names* and so never
 * matches a BCP-47 tag such as `ko-KR`. Here it is keyed by the BCP-47 primary language
 * subtag, and `<language>-<REGION>` keys, when present, win over the bare language.
 */

export type VoiceGender = 'male' | 'female' | 'neutral';
export const voiceGenders: readonly VoiceGender[] = ['male', 'female', 'neutral'];

export interface VoiceRow {
  /** How the documentation names the language. */
  language: string;
  male: string;
  female: string;
  neutral: string;
}

/**
 * Keys: BCP-47 primary language subtags (lower case), or `<language>-<REGION>` for a
 * regional voice. The documented table has one row per language: "Spanish (Spain)" and
 * "Portuguese (Brazil)" are the only regional ones, so every `es-*` and `pt-*` tag uses them.
 */
export const elevenLabsVoiceTable: Readonly<Record<string, VoiceRow>> = {
  en: { language: 'English', male: '21m00Tcm4TlvDq8ikWAM', female: 'EXAVITQu4vr4xnSDxMaL', neutral: 'EXAVITQu4vr4xnSDxMaL' },
  ja: { language: 'Japanese', male: 'Mv8AjrYZCBkdsmDHNwcB', female: 'PmgfHCGeS5b7sH90BOOJ', neutral: 'PmgfHCGeS5b7sH90BOOJ' },
  zh: { language: 'Chinese', male: 'MI36FIkp9wRP7cpWKPTl', female: 'ZL9dtgFhmkTzAHUUtQL8', neutral: 'ZL9dtgFhmkTzAHUUtQL8' },
  de: { language: 'German', male: 'uM8iMoqaSe1eDaJiWfxf', female: 'nF7t9cuYo0u3kuVI9q4B', neutral: 'nF7t9cuYo0u3kuVI9q4B' },
  fr: { language: 'French', male: 'IPgYtHTNLjC7Bq7IPHrm', female: 'SmWACbi37pETyxxMhSpc', neutral: 'SmWACbi37pETyxxMhSpc' },
  hi: { language: 'Hindi', male: 'IvLWq57RKibBrqZGpQrC', female: 'MF4J4IDTRo0AxOO4dpFR', neutral: 'MF4J4IDTRo0AxOO4dpFR' },
  ko: { language: 'Korean', male: 'nbrxrAz3eYm9NgojrmFK', female: 'AW5wrnG1jVizOYY7R1Oo', neutral: 'AW5wrnG1jVizOYY7R1Oo' },
  it: { language: 'Italian', male: 'iLVmqjzCGGvqtMCk6vVQ', female: 'b8jhBTcGAq4kQGWmKprT', neutral: 'b8jhBTcGAq4kQGWmKprT' },
  es: { language: 'Spanish (Spain)', male: 'JjHBC66wF58p4ogebCNA', female: 'UOIqAnmS11Reiei1Ytkc', neutral: 'UOIqAnmS11Reiei1Ytkc' },
  pt: { language: 'Portuguese (Brazil)', male: 'NdHRjGnnDKGnnm2c19le', female: 'CZD4BJ803C6T0alQxsR7', neutral: 'CZD4BJ803C6T0alQxsR7' },
  nl: { language: 'Dutch', male: 'G53Wkf3yrsXvhoQsmslL', female: 'YUdpWWny7k5yb4QCeweX', neutral: 'YUdpWWny7k5yb4QCeweX' },
  ru: { language: 'Russian', male: 'qJBO8ZmKp4te7NTtYgzz', female: 'ymDCYd8puC7gYjxIamPt', neutral: 'ymDCYd8puC7gYjxIamPt' },
  // The documentation lists Rachel's id (EXAVITQu4vr4xnSDxMaL, an English voice) as the
  // female "Farah"; Farah's own id is the neutral column's, used for both here.
  ar: { language: 'Arabic', male: 's83SAGdFTflAwJcAV81K', female: '4wf10lgibMnboGJGCLrP', neutral: '4wf10lgibMnboGJGCLrP' },
  pl: { language: 'Polish', male: 'H5xTcsAIeS5RAykjz57a', female: 'W0sqKm1Sfw1EzlCH14FQ', neutral: 'W0sqKm1Sfw1EzlCH14FQ' },
};

/** The documented default: English. */
export const defaultVoiceLanguage = 'en';

/** Primary subtags that are not the table's key for the same language. */
const subtagAliases: Readonly<Record<string, string>> = {
  cmn: 'zh', // Mandarin (cmn-Hans-CN)
  yue: 'zh', // Cantonese
};

/** Language names (VoIPBIN's keys: `korean`, `korean_...`) to the table's keys. */
const namedLanguages: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(elevenLabsVoiceTable).map(([key, row]) => [row.language.toLowerCase().replace(/\s*\(.*\)$/, ''), key]),
);

/** The flow variable that names an ElevenLabs voice for the call, overriding language and gender. */
export const voiceIdVariable = 'voipbin.tts.elevenlabs.voice_id';
/** The flow variable that sets the voice's gender (`male`, `female`, `neutral`) for the call. */
export const voiceGenderVariable = 'voipbin.tts.voice_gender';
/** The key in the AI's `parameter` that sets its voice's gender. */
export const voiceGenderParameter = 'voice_gender';

/**
 * The table key for a language: a BCP-47 tag (`ko-KR`, `en`, `zh-Hans-CN`, also with `_`),
 * or a language name (`korean`). Undefined when the table has no row for it.
 */
export function voiceTableKey(language: string): string | undefined {
  const normalized = language.trim().toLowerCase().replace(/_/g, '-');
  if (normalized === '') return undefined;
  const subtags = normalized.split('-');
  const primary = subtags[0]!;
  const named = namedLanguages[primary];
  if (named) return named;
  const base = subtagAliases[primary] ?? primary;
  if (!elevenLabsVoiceTable[base]) return undefined;
  // A region subtag is two letters or three digits, after an optional four-letter script.
  const region = subtags.slice(1).find((subtag) => /^(?:[a-z]{2}|\d{3})$/.test(subtag));
  if (region && elevenLabsVoiceTable[`${base}-${region.toUpperCase()}`]) return `${base}-${region.toUpperCase()}`;
  return base;
}

/** `male` / `female` / `neutral` in any case; anything else is undefined. */
export function parseVoiceGender(value: unknown): VoiceGender | undefined {
  if (typeof value !== 'string') return undefined;
  const normalized = value.trim().toLowerCase();
  return (voiceGenders as readonly string[]).includes(normalized) ? (normalized as VoiceGender) : undefined;
}

/** An ElevenLabs voice id: 20 letters and digits (VoIPBIN accepts the variable only at 20 characters). */
export function isElevenLabsVoiceId(value: string): boolean {
  return /^[A-Za-z0-9]{20}$/.test(value);
}

/** The table's voice for a language and gender (English when the language has no row). */
export function tableVoice(language: string, gender: VoiceGender): { key: string; voiceId: string } {
  const key = voiceTableKey(language) ?? defaultVoiceLanguage;
  return { key, voiceId: elevenLabsVoiceTable[key]![gender] };
}

export interface VoiceChoice {
  voiceId: string;
  /** Where it came from: the AI's own `tts_voice_id`, the flow variable, the table, or not applicable (another TTS). */
  source: 'ai' | 'variable' | 'table' | 'none';
  gender?: VoiceGender;
  /** The table row used. */
  language?: string;
}

/** What of an AI the choice depends on. */
export interface VoiceSettings {
  tts_type: string;
  tts_voice_id: string;
  stt_language: string;
  parameter: Record<string, unknown>;
}

/**
 * The TTS voice of a session. Other TTS types keep the AI's `tts_voice_id` (empty = the
 * provider's default). For `elevenlabs`: the AI's `tts_voice_id` if set; else the flow
 * variable `voipbin.tts.elevenlabs.voice_id` (20 letters and digits; otherwise ignored); else
 * the table by the AI's `stt_language` and the gender from the flow variable
 * `voipbin.tts.voice_gender`, then the AI's `parameter.voice_gender`, then `neutral`.
 * `variables` is read only when the table or the override may be needed.
 */
export async function chooseTtsVoice(ai: VoiceSettings, variables: () => Promise<Record<string, string>>): Promise<VoiceChoice> {
  if (ai.tts_type !== 'elevenlabs') return { voiceId: ai.tts_voice_id, source: 'none' };
  if (ai.tts_voice_id.trim() !== '') return { voiceId: ai.tts_voice_id, source: 'ai' };
  const flow = await variables();
  const override = flow[voiceIdVariable]?.trim();
  if (override && isElevenLabsVoiceId(override)) return { voiceId: override, source: 'variable' };
  const gender = parseVoiceGender(flow[voiceGenderVariable]) ?? parseVoiceGender(ai.parameter[voiceGenderParameter]) ?? 'neutral';
  const { key, voiceId } = tableVoice(ai.stt_language, gender);
  return { voiceId, source: 'table', gender, language: key };
}
