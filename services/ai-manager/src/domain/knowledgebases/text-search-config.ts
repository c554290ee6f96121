/**
 * The PostgreSQL text-search configuration for a knowledge base's language: the Snowball
 * configurations every PostgreSQL (and PGlite) ships, chosen by the primary language subtag
 * (`en-US` -> `english`), so words are stemmed ("refunds" finds "refund") and the language's
 * stop words ignored. An empty or other language gets `simple`: lower-cased words, no
 * stemming, no stop words, which is right for any language that separates words by spaces.
 */
const snowballConfigs: Record<string, string> = {
  da: 'danish',
  de: 'german',
  en: 'english',
  es: 'spanish',
  fi: 'finnish',
  fr: 'french',
  hu: 'hungarian',
  it: 'italian',
  nb: 'norwegian',
  nl: 'dutch',
  nn: 'norwegian',
  no: 'norwegian',
  pt: 'portuguese',
  ro: 'romanian',
  ru: 'russian',
  sv: 'swedish',
  tr: 'turkish',
};

/** `english`, `german`, ... or `simple`. */
export function textSearchConfigFor(language: string): string {
  const primary = language.split('-')[0]?.toLowerCase() ?? '';
  return snowballConfigs[primary] ?? 'simple';
}
