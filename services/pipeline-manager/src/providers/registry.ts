import { parseEngineModel, supportedSttTypes, supportedTtsTypes, type LlmProvider as LlmProviderName } from '@avp/shared';
import type { ResamplerFactory } from './audio.ts';
import { createAnthropicLlm } from './llm/anthropic.ts';
import { createBedrockLlm, parseAwsKey } from './llm/bedrock.ts';
import { createGeminiLlm } from './llm/gemini.ts';
import { createOpenAiCompatibleLlm } from './llm/openai-compatible.ts';
import { createScriptedDialogue, type ScriptStep } from './llm/scripted-dialogue.ts';
import { ProviderError } from './provider-error.ts';
import { defaultResiliencePolicy, withLlmResilience, withSttResilience, withTtsResilience, type ResiliencePolicy } from './resilience.ts';
import { createCartesiaStt } from './stt/cartesia.ts';
import { createDeepgramStt } from './stt/deepgram.ts';
import { createElevenLabsStt } from './stt/elevenlabs.ts';
import { createLocalGrammarStt } from './stt/local-grammar.ts';
import type { LlmProvider, SttProvider, TtsProvider } from './types.ts';
import { createAwsPollyTts } from './tts/aws-polly.ts';
import { createAzureSpeechTts } from './tts/azure-speech.ts';
import { createCartesiaTts } from './tts/cartesia.ts';
import { createDeepgramAuraTts } from './tts/deepgram-aura.ts';
import { createElevenLabsTts } from './tts/elevenlabs.ts';
import { createEspeakTts } from './tts/espeak.ts';
import { createGoogleSpeechTts } from './tts/google-speech.ts';
import { createOpenAiSpeechTts } from './tts/openai-speech.ts';

/** Environment variables the providers read (process.env by default). */
export type ProviderEnvironment = Readonly<Record<string, string | undefined>>;

/** One vendor endpoint: default base URL and where its key comes from. */
export interface VendorEndpoint {
  baseUrl: string;
  /** Variable overriding `baseUrl`. */
  baseUrlVariable: string;
  /** Variables holding the key, first found wins. */
  keyVariables: string[];
  /** Local servers (ollama) need no key. */
  keyOptional?: boolean;
}

const endpoint = (name: string, baseUrl: string, keyVariables: string[] = [`${name}_API_KEY`], keyOptional = false): VendorEndpoint => ({
  baseUrl,
  baseUrlVariable: `${name}_BASE_URL`,
  keyVariables,
  keyOptional,
});

/** The LLM vendors spoken to through the `openai` SDK. */
export const openAiCompatibleEndpoints = {
  openai: endpoint('OPENAI', 'https://api.openai.com/v1'),
  azure: endpoint('AZURE_OPENAI', '', ['AZURE_OPENAI_API_KEY']),
  grok: endpoint('GROK', 'https://api.x.ai/v1', ['GROK_API_KEY', 'XAI_API_KEY']),
  groq: endpoint('GROQ', 'https://api.groq.com/openai/v1'),
  deepseek: endpoint('DEEPSEEK', 'https://api.deepseek.com/v1'),
  mistral: endpoint('MISTRAL', 'https://api.mistral.ai/v1'),
  together: endpoint('TOGETHER', 'https://api.together.xyz/v1'),
  fireworks: endpoint('FIREWORKS', 'https://api.fireworks.ai/inference/v1'),
  openrouter: endpoint('OPENROUTER', 'https://openrouter.ai/api/v1'),
  perplexity: endpoint('PERPLEXITY', 'https://api.perplexity.ai'),
  cerebras: endpoint('CEREBRAS', 'https://api.cerebras.ai/v1'),
  sambanova: endpoint('SAMBANOVA', 'https://api.sambanova.ai/v1'),
  nvidia: endpoint('NVIDIA', 'https://integrate.api.nvidia.com/v1'),
  qwen: endpoint('QWEN', 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1', ['QWEN_API_KEY', 'DASHSCOPE_API_KEY']),
  ollama: endpoint('OLLAMA', 'http://127.0.0.1:11434/v1', ['OLLAMA_API_KEY'], true),
} satisfies Partial<Record<LlmProviderName, VendorEndpoint>>;

/** Every other vendor endpoint. */
export const vendorEndpoints = {
  anthropic: endpoint('ANTHROPIC', 'https://api.anthropic.com'),
  gemini: endpoint('GEMINI', 'https://generativelanguage.googleapis.com', ['GEMINI_API_KEY', 'GOOGLE_API_KEY']),
  deepgram: endpoint('DEEPGRAM', 'https://api.deepgram.com'),
  elevenlabs: endpoint('ELEVENLABS', 'https://api.elevenlabs.io'),
  cartesia: endpoint('CARTESIA', 'https://api.cartesia.ai'),
  /** Azure AI Speech; without a base URL the region (`AZURE_SPEECH_REGION`) builds it. */
  'azure-speech': endpoint('AZURE_SPEECH', '', ['AZURE_SPEECH_API_KEY', 'AZURE_SPEECH_KEY']),
  'google-speech': endpoint('GOOGLE_TTS', 'https://texttospeech.googleapis.com', ['GOOGLE_TTS_API_KEY', 'GOOGLE_API_KEY']),
};

/** tts_type values with an implementation (ai-manager refuses the others when an AI is saved). */
export const implementedTtsTypes = supportedTtsTypes;
/** stt_type values with an implementation. */
export const implementedSttTypes = supportedSttTypes;

export interface ProviderFactoryOptions {
  environment?: ProviderEnvironment;
  /** Retries and timeouts applied to every provider built here. */
  resilience?: ResiliencePolicy;
  /** Resampler for TTS output that is not 16 kHz (default: linear). */
  resample?: ResamplerFactory;
  /** Script for `local.scripted` (else the one in the system prompt, else the built-in demo). */
  script?: ScriptStep[];
}

function lookup(environment: ProviderEnvironment, vendor: VendorEndpoint): { baseUrl: string; key: string | undefined } {
  const key = vendor.keyVariables.map((name) => environment[name]).find((value) => value);
  return { baseUrl: environment[vendor.baseUrlVariable] || vendor.baseUrl, key };
}

function requireKey(provider: string, key: string | undefined, vendor: VendorEndpoint, fromAi = false): string {
  if (key) return key;
  if (vendor.keyOptional) return 'none';
  const where = `${fromAi ? "the AI's engine_key or " : ''}${vendor.keyVariables.join(' / ')}`;
  throw new ProviderError('auth', `${provider}: no API key (set ${where})`, { provider });
}

/**
 * The LLM for an AI's `engine_model` (`<provider>.<model>`), with the AI's `engine_key` or
 * else the provider's environment variable, wrapped in the shared retry/timeout policy.
 */
export function createLlmProvider(ai: { engine_model: string; engine_key?: string }, options: ProviderFactoryOptions = {}): LlmProvider {
  const environment = options.environment ?? process.env;
  const parsed = parseEngineModel(ai.engine_model);
  if (!parsed) throw new ProviderError('bad_request', `invalid engine_model "${ai.engine_model}"`, { provider: ai.engine_model });
  const { provider, model } = parsed;
  const name = `${provider}.${model}`;
  const policy = options.resilience ?? defaultResiliencePolicy;
  const engineKey = ai.engine_key || undefined;
  let llm: LlmProvider;
  if (provider === 'local') {
    if (model !== 'scripted') throw new ProviderError('bad_request', `unknown local engine "${name}" (only local.scripted exists)`, { provider: name });
    return createScriptedDialogue({ script: options.script });
  } else if (provider === 'anthropic' || provider === 'gemini') {
    const vendor = vendorEndpoints[provider];
    const { baseUrl, key } = lookup(environment, vendor);
    const apiKey = requireKey(name, engineKey ?? key, vendor, true);
    llm = provider === 'anthropic' ? createAnthropicLlm({ model, apiKey, baseUrl }) : createGeminiLlm({ model, apiKey, baseUrl });
  } else if (provider === 'aws') {
    const credentials = engineKey ? parseAwsKey(engineKey) : undefined;
    if (engineKey && !credentials) throw new ProviderError('auth', `${name}: engine_key must be ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`, { provider: name });
    llm = createBedrockLlm({
      model,
      region: environment.BEDROCK_REGION || environment.AWS_REGION || environment.AWS_DEFAULT_REGION || 'us-east-1',
      credentials,
      baseUrl: environment.BEDROCK_BASE_URL || undefined,
    });
  } else {
    const vendor = openAiCompatibleEndpoints[provider];
    const { baseUrl, key } = lookup(environment, vendor);
    if (provider === 'azure' && !baseUrl) {
      throw new ProviderError('bad_request', `${name}: set AZURE_OPENAI_BASE_URL to the resource endpoint (https://<resource>.openai.azure.com)`, { provider: name });
    }
    llm = createOpenAiCompatibleLlm({
      provider,
      model,
      apiKey: requireKey(name, engineKey ?? key, vendor, true),
      baseUrl,
      azureApiVersion: environment.AZURE_OPENAI_API_VERSION || undefined,
    });
  }
  return withLlmResilience(llm, policy);
}

/** The TTS engine for an AI's `tts_type` ('' means `local`); keys come from the environment. */
export function createTtsProvider(ai: { tts_type: string }, options: ProviderFactoryOptions = {}): TtsProvider {
  const environment = options.environment ?? process.env;
  const type = ai.tts_type || 'local';
  const policy = options.resilience ?? defaultResiliencePolicy;
  const resample = options.resample;
  let tts: TtsProvider;
  switch (type) {
    case 'local':
      tts = createEspeakTts({ command: environment.ESPEAK_NG_PATH || undefined, resample });
      break;
    case 'openai': {
      const { baseUrl, key } = lookup(environment, openAiCompatibleEndpoints.openai);
      tts = createOpenAiSpeechTts({ apiKey: requireKey('openai', key, openAiCompatibleEndpoints.openai), baseUrl, model: environment.OPENAI_TTS_MODEL || undefined, resample });
      break;
    }
    case 'elevenlabs':
    case 'deepgram':
    case 'cartesia': {
      const vendor = vendorEndpoints[type];
      const { baseUrl, key } = lookup(environment, vendor);
      const apiKey = requireKey(type, key, vendor);
      tts =
        type === 'elevenlabs'
          ? createElevenLabsTts({ apiKey, baseUrl, model: environment.ELEVENLABS_TTS_MODEL || undefined })
          : type === 'deepgram'
            ? createDeepgramAuraTts({ apiKey, baseUrl })
            : createCartesiaTts({ apiKey, baseUrl, model: environment.CARTESIA_TTS_MODEL || undefined });
      break;
    }
    case 'aws': {
      const engine = environment.POLLY_ENGINE;
      tts = createAwsPollyTts({
        region: environment.POLLY_REGION || environment.AWS_REGION || environment.AWS_DEFAULT_REGION || 'us-east-1',
        baseUrl: environment.POLLY_BASE_URL || undefined,
        ...(engine === 'neural' || engine === 'standard' || engine === 'long-form' || engine === 'generative' ? { engine } : {}),
      });
      break;
    }
    case 'azure': {
      const vendor = vendorEndpoints['azure-speech'];
      const { key } = lookup(environment, vendor);
      const region = environment.AZURE_SPEECH_REGION;
      const baseUrl = environment[vendor.baseUrlVariable] || (region ? `https://${region}.tts.speech.microsoft.com` : '');
      if (!baseUrl) throw new ProviderError('bad_request', 'azure: set AZURE_SPEECH_REGION or AZURE_SPEECH_BASE_URL', { provider: 'azure' });
      tts = createAzureSpeechTts({ apiKey: requireKey('azure', key, vendor), baseUrl });
      break;
    }
    case 'google': {
      const vendor = vendorEndpoints['google-speech'];
      const { baseUrl, key } = lookup(environment, vendor);
      tts = createGoogleSpeechTts({ apiKey: requireKey('google', key, vendor), baseUrl, resample });
      break;
    }
    default:
      throw new ProviderError('bad_request', `tts_type "${type}" is not implemented (implemented: ${implementedTtsTypes.join(', ')})`, { provider: type });
  }
  return withTtsResilience(tts, policy);
}

/**
 * The phrases the offline recogniser listens for: the AI's `parameter.stt_phrases`, an array of
 * strings (anything else there is ignored).
 */
export function sttPhrases(parameter: Record<string, unknown> | undefined): string[] {
  const phrases = parameter?.stt_phrases;
  return Array.isArray(phrases) ? phrases.filter((phrase): phrase is string => typeof phrase === 'string') : [];
}

/**
 * The STT engine for an AI's `stt_type`; keys come from the environment. '' means `deepgram`
 * (not `local`: a missing key should fail loudly, not fall back to a recogniser that only
 * knows a few phrases). `local` is the offline PocketSphinx recogniser, listening for the
 * AI's `parameter.stt_phrases`.
 */
export function createSttProvider(ai: { stt_type: string; parameter?: Record<string, unknown> }, options: ProviderFactoryOptions = {}): SttProvider {
  const environment = options.environment ?? process.env;
  const type = ai.stt_type || 'deepgram';
  const policy = options.resilience ?? defaultResiliencePolicy;
  if (type === 'local') {
    const stt = createLocalGrammarStt({
      command: environment.POCKETSPHINX_BIN || undefined,
      modelDir: environment.POCKETSPHINX_MODEL_DIR || undefined,
      phrases: sttPhrases(ai.parameter),
    });
    return withSttResilience(stt, policy);
  }
  if (type !== 'deepgram' && type !== 'cartesia' && type !== 'elevenlabs') {
    throw new ProviderError('bad_request', `stt_type "${type}" is not implemented (implemented: ${implementedSttTypes.join(', ')})`, { provider: type });
  }
  const vendor = vendorEndpoints[type];
  const { baseUrl, key } = lookup(environment, vendor);
  const apiKey = requireKey(type, key, vendor);
  const stt =
    type === 'deepgram'
      ? createDeepgramStt({ apiKey, baseUrl, model: environment.DEEPGRAM_STT_MODEL || undefined })
      : type === 'cartesia'
        ? createCartesiaStt({ apiKey, baseUrl, model: environment.CARTESIA_STT_MODEL || undefined })
        : createElevenLabsStt({ apiKey, baseUrl, model: environment.ELEVENLABS_STT_MODEL || undefined });
  return withSttResilience(stt, policy);
}
