import { describe, expect, it } from 'vitest';
import { chooseTtsVoice, elevenLabsVoiceTable, isElevenLabsVoiceId, parseVoiceGender, tableVoice, voiceTableKey, type VoiceSettings } from './voices.ts';

const elevenlabs = (overrides: Partial<VoiceSettings> = {}): VoiceSettings => ({
  tts_type: 'elevenlabs',
  tts_voice_id: '',
  stt_language: 'en-US',
  parameter: {},
  ...overrides,
});
const noVariables = async () => ({});

describe('voiceTableKey', () => {
  it('maps BCP-47 tags by their primary language subtag', () => {
    expect(voiceTableKey('ko-KR')).toBe('ko');
    expect(voiceTableKey('en-US')).toBe('en');
    expect(voiceTableKey('en-GB')).toBe('en');
    expect(voiceTableKey('ja')).toBe('ja');
    expect(voiceTableKey('zh-Hans-CN')).toBe('zh');
    expect(voiceTableKey('cmn-Hans-CN')).toBe('zh');
    expect(voiceTableKey('es-MX')).toBe('es');
    expect(voiceTableKey('pt-PT')).toBe('pt');
    expect(voiceTableKey('ar-SA')).toBe('ar');
  });

  it('accepts any case, underscores and spaces', () => {
    expect(voiceTableKey(' KO_kr ')).toBe('ko');
    expect(voiceTableKey('DE-de')).toBe('de');
  });

  it('accepts the language names VoIPBIN keys its table by', () => {
    expect(voiceTableKey('korean')).toBe('ko');
    expect(voiceTableKey('Spanish')).toBe('es');
    expect(voiceTableKey('portuguese_brazil')).toBe('pt');
  });

  it('has no key for a language the table lacks, or none', () => {
    expect(voiceTableKey('sv-SE')).toBeUndefined();
    expect(voiceTableKey('')).toBeUndefined();
    expect(voiceTableKey('   ')).toBeUndefined();
  });

  it('covers every row of the documented table', () => {
    expect(Object.keys(elevenLabsVoiceTable).sort()).toEqual(['ar', 'de', 'en', 'es', 'fr', 'hi', 'it', 'ja', 'ko', 'nl', 'pl', 'pt', 'ru', 'zh']);
    for (const row of Object.values(elevenLabsVoiceTable)) {
      for (const id of [row.male, row.female, row.neutral]) expect(isElevenLabsVoiceId(id)).toBe(true);
    }
  });
});

describe('tableVoice', () => {
  it('picks the column of the gender', () => {
    expect(tableVoice('ko-KR', 'male').voiceId).toBe('nbrxrAz3eYm9NgojrmFK'); // Minjoon
    expect(tableVoice('ko-KR', 'female').voiceId).toBe('AW5wrnG1jVizOYY7R1Oo'); // Jiyoung
    expect(tableVoice('ko-KR', 'neutral').voiceId).toBe('AW5wrnG1jVizOYY7R1Oo');
    expect(tableVoice('ja-JP', 'male').voiceId).toBe('Mv8AjrYZCBkdsmDHNwcB'); // Ishibashi
    expect(tableVoice('de-DE', 'female').voiceId).toBe('nF7t9cuYo0u3kuVI9q4B'); // Dana
  });

  it('falls back to English (the documented default) for other languages', () => {
    expect(tableVoice('sv-SE', 'male')).toEqual({ key: 'en', voiceId: '21m00Tcm4TlvDq8ikWAM' }); // Adam
    expect(tableVoice('', 'neutral')).toEqual({ key: 'en', voiceId: 'EXAVITQu4vr4xnSDxMaL' }); // Rachel
  });
});

describe('parseVoiceGender', () => {
  it('takes male, female and neutral in any case, nothing else', () => {
    expect(parseVoiceGender('Female')).toBe('female');
    expect(parseVoiceGender(' male ')).toBe('male');
    expect(parseVoiceGender('neutral')).toBe('neutral');
    expect(parseVoiceGender('robot')).toBeUndefined();
    expect(parseVoiceGender(1)).toBeUndefined();
    expect(parseVoiceGender(undefined)).toBeUndefined();
  });
});

describe('chooseTtsVoice', () => {
  it('keeps the voice of other TTS types as it is, without reading variables', async () => {
    const variables = async (): Promise<Record<string, string>> => {
      throw new Error('must not be read');
    };
    expect(await chooseTtsVoice(elevenlabs({ tts_type: 'deepgram', tts_voice_id: 'aura-2-thalia-en' }), variables)).toEqual({
      voiceId: 'aura-2-thalia-en',
      source: 'none',
    });
    expect(await chooseTtsVoice(elevenlabs({ tts_type: 'local' }), variables)).toEqual({ voiceId: '', source: 'none' });
  });

  it("uses the AI's own voice id first, even over the flow variable", async () => {
    const variables = async () => ({ 'voipbin.tts.elevenlabs.voice_id': 'ZZZZZZZZZZZZZZZZZZZZ' });
    expect(await chooseTtsVoice(elevenlabs({ tts_voice_id: 'my-cloned-voice' }), variables)).toEqual({ voiceId: 'my-cloned-voice', source: 'ai' });
  });

  it('lets the flow variable override language and gender', async () => {
    const variables = async () => ({ 'voipbin.tts.elevenlabs.voice_id': 'abcdefghij0123456789', 'voipbin.tts.voice_gender': 'male' });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'ko-KR' }), variables)).toEqual({ voiceId: 'abcdefghij0123456789', source: 'variable' });
  });

  it('ignores a flow variable that is not a 20-character voice id', async () => {
    const variables = async () => ({ 'voipbin.tts.elevenlabs.voice_id': 'too-short' });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'ko-KR' }), variables)).toMatchObject({ voiceId: 'AW5wrnG1jVizOYY7R1Oo', source: 'table' });
  });

  it('chooses by language and the gender of the AI parameter', async () => {
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'ko-KR', parameter: { voice_gender: 'male' } }), noVariables)).toEqual({
      voiceId: 'nbrxrAz3eYm9NgojrmFK',
      source: 'table',
      gender: 'male',
      language: 'ko',
    });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'fr-FR', parameter: { voice_gender: 'female' } }), noVariables)).toMatchObject({
      voiceId: 'SmWACbi37pETyxxMhSpc',
    });
  });

  it('lets the gender flow variable win over the AI parameter; neutral by default', async () => {
    const variables = async () => ({ 'voipbin.tts.voice_gender': 'MALE' });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'es-ES', parameter: { voice_gender: 'female' } }), variables)).toMatchObject({
      voiceId: 'JjHBC66wF58p4ogebCNA',
      gender: 'male',
    });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'es-ES', parameter: { voice_gender: 'robot' } }), noVariables)).toMatchObject({
      voiceId: 'UOIqAnmS11Reiei1Ytkc',
      gender: 'neutral',
    });
  });

  it('speaks English when the language is unset or not in the table', async () => {
    expect(await chooseTtsVoice(elevenlabs({ stt_language: '' }), noVariables)).toMatchObject({ voiceId: 'EXAVITQu4vr4xnSDxMaL', language: 'en' });
    expect(await chooseTtsVoice(elevenlabs({ stt_language: 'fi-FI', parameter: { voice_gender: 'male' } }), noVariables)).toMatchObject({
      voiceId: '21m00Tcm4TlvDq8ikWAM',
    });
  });
});
