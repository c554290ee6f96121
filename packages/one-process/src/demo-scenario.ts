/**
 * The demo's scenario (`pnpm demo`, demo.ts): what the caller says, the AI's script (offline
 * engine) or prompt (real language model), the flow around the AI, and which engines it uses.
 */

/** Environment variables, as in process.env. */
export type DemoEnvironment = Readonly<Record<string, string | undefined>>;

/** The engines the demo's AI uses. */
export interface DemoEngines {
  engine_model: string;
  stt_type: string;
  tts_type: string;
  /** Human-readable description, for example "LLM local.scripted (offline)". */
  description: string[];
}

/** What the caller says, answer by answer. Every line is one of `sttPhrases`. */
export const demoCallerLines = ['Alice', 'Tuesday morning'];

/** Phrases the offline recogniser listens for (it is reliable only for declared phrases). */
export const demoSttPhrases = ['Alice', 'Bob', 'Carol', 'Monday', 'Tuesday', 'Tuesday morning', 'Wednesday afternoon', 'Friday', 'yes', 'no'];

/** The offline engine's script: an appointment request in two questions, stored with set_variables. */
export const demoScript = {
  script: [
    { say: 'Hello, this is the Riverside dental clinic. May I have your name, please?' },
    { wait: 'answer', into: 'name' },
    { say: 'Thank you, ${name}. Which day would you like to come in?' },
    { wait: 'answer', into: 'day' },
    { tool: 'set_variables', arguments: { variables: { caller_name: '${name}', appointment_day: '${day}' } } },
    { say: 'Great, ${name}. I have noted ${day} for you.' },
    { end: true },
  ],
};

/** The same conversation for a real language model. */
export const demoPrompt = [
  'You are the phone receptionist of the Riverside dental clinic. Keep every answer to one or two short sentences.',
  'First greet the caller and ask for their name. Then ask which day they would like to come in.',
  'When you know both, call the set_variables tool with {"variables": {"caller_name": <name>, "appointment_day": <day>}},',
  'then say one short sentence confirming the day, then call the stop_service tool to hand the call back.',
].join(' ');

/**
 * What the call's transcription listens for (the offline recogniser knows declared phrases
 * only): the caller's phrases, and the offline AI's and the flow's own sentences as they come
 * out for the demo caller. A real recogniser ignores them.
 */
export function demoTranscriptionPhrases(): string[] {
  const [name = '', day = ''] = demoCallerLines;
  const fill = (text: string) => text.replaceAll('${name}', name).replaceAll('${day}', day).replaceAll('${caller_name}', name).replaceAll('${appointment_day}', day);
  const spoken = demoScript.script.flatMap((step) => ('say' in step && step.say !== undefined ? [fill(step.say)] : []));
  return [...demoSttPhrases, ...spoken, fill(demoClosingLine)];
}

/** What the flow says after the AI hands the call back. */
export const demoClosingLine = 'Thanks ${caller_name}, your appointment request for ${appointment_day} is saved. Goodbye.';

/**
 * The flow: answer, transcribe the call (both sides) and ask for its summary at hang-up, the
 * AI, then the flow goes on with the variables the AI set.
 */
export function demoFlowActions(aiId: string): Record<string, unknown>[] {
  return [
    { type: 'answer' },
    { type: 'transcribe_start', option: { direction: 'both', language: 'en-US', phrases: demoTranscriptionPhrases() } },
    { type: 'ai_summary', option: { reference_type: 'call', language: 'en-US' } },
    { type: 'ai_talk', option: { ai_id: aiId } },
    { type: 'talk', option: { text: demoClosingLine } },
    { type: 'hangup' },
  ];
}

/**
 * The engines for the environment: a real provider for each kind whose key is set (unless
 * `engines` is `local`), else the offline ones. DEMO_ENGINE_MODEL, DEMO_STT_TYPE and
 * DEMO_TTS_TYPE override the choice.
 */
export function chooseDemoEngines(environment: DemoEnvironment, engines: 'auto' | 'local' = 'auto'): DemoEngines {
  const has = (...names: string[]) => engines === 'auto' && names.some((name) => (environment[name] ?? '') !== '');
  const llm =
    (engines === 'auto' && environment.DEMO_ENGINE_MODEL) ||
    (has('OPENAI_API_KEY')
      ? 'openai.gpt-4o-mini'
      : has('ANTHROPIC_API_KEY')
        ? 'anthropic.claude-3-5-haiku-latest'
        : has('GEMINI_API_KEY', 'GOOGLE_API_KEY')
          ? 'gemini.gemini-2.0-flash'
          : 'local.scripted');
  const stt =
    (engines === 'auto' && environment.DEMO_STT_TYPE) ||
    (has('DEEPGRAM_API_KEY') ? 'deepgram' : has('ELEVENLABS_API_KEY') ? 'elevenlabs' : has('CARTESIA_API_KEY') ? 'cartesia' : 'local');
  const tts =
    (engines === 'auto' && environment.DEMO_TTS_TYPE) ||
    (has('ELEVENLABS_API_KEY')
      ? 'elevenlabs'
      : has('DEEPGRAM_API_KEY')
        ? 'deepgram'
        : has('OPENAI_API_KEY')
          ? 'openai'
          : has('CARTESIA_API_KEY')
            ? 'cartesia'
            : 'local');
  const offline = (kind: string, value: string) => (value === 'local' || value === 'local.scripted' ? `${kind} ${value} (offline)` : `${kind} ${value}`);
  return {
    engine_model: llm,
    stt_type: stt,
    tts_type: tts,
    description: [
      offline('LLM', llm),
      stt === 'local' ? 'STT local (offline pocketsphinx grammar)' : `STT ${stt}`,
      tts === 'local' ? 'TTS local (offline espeak-ng)' : `TTS ${tts}`,
    ],
  };
}
