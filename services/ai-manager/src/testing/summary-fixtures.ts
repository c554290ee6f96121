import { creationTimestamps, type Database } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { databaseSchema } from '../app.ts';
import type { AiManagerTables } from '../db/tables.ts';

/**
 * A transcription of the customer's stored as TranscribeService stores one (no transcriber
 * runs), for suites without a flow-manager or pipeline-manager: `done` as if its call ended.
 */
export async function storeTranscription(
  database: Database,
  customerId: string,
  fields: { status?: 'progressing' | 'done'; language?: string; transcripts?: { direction: 'in' | 'out'; message: string; offset_ms: number }[] } = {},
): Promise<string> {
  const db = database.forSchema<AiManagerTables>(databaseSchema);
  const id = randomUUID();
  await db
    .insertInto('transcribes')
    .values({ id, customer_id: customerId, reference_type: 'call', reference_id: randomUUID(), language: fields.language ?? '', direction: 'both', status: fields.status ?? 'progressing', ...creationTimestamps() })
    .execute();
  for (const transcript of fields.transcripts ?? []) {
    await db.insertInto('transcripts').values({ id: randomUUID(), customer_id: customerId, transcribe_id: id, ...transcript, ...creationTimestamps() }).execute();
  }
  return id;
}
