import { appError, type Ai, type AiFields } from '@avp/shared';
import type { DomainContext } from '../context.ts';
import { findAi, type AiRow, type AiRowFields } from './ai-repository.ts';

type FallbackColumns = Pick<AiRowFields, 'fallback_engine_model' | 'fallback_engine_key_encrypted' | 'fallback_tts_type' | 'fallback_tts_voice_id'>;

/** What the fallback key is bound to: a ciphertext moved to another column or AI fails to decrypt. */
const keyBinding = (aiId: string) => `${aiId}/fallback_engine_key`;

/**
 * The fallback columns of an AI being created or replaced: `PUT` keeps what the body leaves
 * out (`current`), the key is sealed like `engine_key` (`""` removes it). Refuses, with a 400,
 * what could never be used: a key or a voice with no fallback to use it.
 */
export function fallbackColumns(context: DomainContext, aiId: string, fields: AiFields, current?: AiRow): FallbackColumns {
  const columns: FallbackColumns = {
    fallback_engine_model: fields.fallback_engine_model ?? current?.fallback_engine_model ?? '',
    fallback_engine_key_encrypted:
      fields.fallback_engine_key === undefined
        ? (current?.fallback_engine_key_encrypted ?? null)
        : fields.fallback_engine_key === ''
          ? null
          : context.secrets.encrypt(fields.fallback_engine_key, keyBinding(aiId)),
    fallback_tts_type: fields.fallback_tts_type ?? current?.fallback_tts_type ?? '',
    fallback_tts_voice_id: fields.fallback_tts_voice_id ?? current?.fallback_tts_voice_id ?? '',
  };
  if (columns.fallback_engine_key_encrypted !== null && columns.fallback_engine_model === '') {
    throw appError('VALIDATION_FAILED', 'fallback_engine_key: set fallback_engine_model too (a key with no fallback model is never used)');
  }
  if (columns.fallback_tts_voice_id !== '' && columns.fallback_tts_type === '') {
    throw appError('VALIDATION_FAILED', 'fallback_tts_voice_id: set fallback_tts_type too (a voice with no fallback TTS is never used)');
  }
  return columns;
}

/** The public form of the fallback columns: the key only as `fallback_engine_key_set`. */
export function fallbackView(row: AiRow): Pick<Ai, 'fallback_engine_model' | 'fallback_engine_key_set' | 'fallback_tts_type' | 'fallback_tts_voice_id'> {
  return {
    fallback_engine_model: row.fallback_engine_model,
    fallback_engine_key_set: row.fallback_engine_key_encrypted !== null,
    fallback_tts_type: row.fallback_tts_type as Ai['fallback_tts_type'],
    fallback_tts_voice_id: row.fallback_tts_voice_id,
  };
}

/** The decrypted fallback key, for the session that runs the AI (never for an API response). */
export function openFallbackEngineKey(context: DomainContext, row: AiRow): string | undefined {
  return row.fallback_engine_key_encrypted === null ? undefined : context.secrets.decrypt(row.fallback_engine_key_encrypted, keyBinding(row.id));
}

/**
 * The fallback part of a pipeline start (`ai` in `POST /v1/pipelines`): only what is set, the
 * key decrypted.
 */
export async function pipelineFallbacks(
  context: DomainContext,
  customerId: string,
  ai: Ai,
): Promise<{ fallback_engine_model?: string; fallback_engine_key?: string; fallback_tts_type?: string; fallback_tts_voice_id?: string }> {
  const key = ai.fallback_engine_key_set ? await findAi(context.db, customerId, ai.id).then((row) => row && openFallbackEngineKey(context, row)) : undefined;
  return {
    ...(ai.fallback_engine_model ? { fallback_engine_model: ai.fallback_engine_model } : {}),
    ...(ai.fallback_engine_model && key ? { fallback_engine_key: key } : {}),
    ...(ai.fallback_tts_type ? { fallback_tts_type: ai.fallback_tts_type, fallback_tts_voice_id: ai.fallback_tts_voice_id } : {}),
  };
}
