/**
 * The fixed last lines the pipeline says itself when it ends a session on a limit (not the
 * LLM's words: at that point asking the LLM would cost another turn, could call tools or run
 * on, and must not be able to keep the caller). One sentence per reason, in the few languages
 * below, chosen by the primary subtag of the session's language (`stt_language`); any other
 * language, or '' (auto), gets English.
 */
export interface ClosingLines {
  /** `ai_talk.duration` ran out. */
  timeLimit: string;
  /** The caller stayed silent through every re-prompt (`no_input_max`). */
  noInput: string;
}

const linesByLanguage: Record<string, ClosingLines> = {
  en: {
    timeLimit: 'We have reached the time limit for this call. Goodbye.',
    noInput: 'I have not heard anything from you, so I will end the call now. Goodbye.',
  },
  es: {
    timeLimit: 'Hemos alcanzado el tiempo límite de esta llamada. Adiós.',
    noInput: 'No he oído nada, así que voy a terminar la llamada. Adiós.',
  },
  fr: {
    timeLimit: 'Nous avons atteint la durée maximale de cet appel. Au revoir.',
    noInput: "Je n'ai rien entendu, je vais donc mettre fin à l'appel. Au revoir.",
  },
  de: {
    timeLimit: 'Wir haben das Zeitlimit für diesen Anruf erreicht. Auf Wiederhören.',
    noInput: 'Ich habe nichts gehört, deshalb beende ich den Anruf jetzt. Auf Wiederhören.',
  },
  ko: {
    timeLimit: '통화 제한 시간에 도달했습니다. 안녕히 계세요.',
    noInput: '아무 말씀도 들리지 않아 통화를 종료하겠습니다. 안녕히 계세요.',
  },
  ja: {
    timeLimit: '通話の制限時間になりました。失礼いたします。',
    noInput: 'お声が聞こえませんので、通話を終了いたします。失礼いたします。',
  },
};

/** The closing lines for a BCP-47 tag ('' or an unlisted language: English). */
export function closingLines(language: string): ClosingLines {
  const primary = language.split('-')[0]!.toLowerCase();
  return linesByLanguage[primary] ?? linesByLanguage.en!;
}

/** The languages with their own closing lines (the README lists them). */
export const closingLineLanguages = Object.keys(linesByLanguage);
