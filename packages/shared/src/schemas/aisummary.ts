import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** What a summary summarises. */
export const aisummaryReferenceTypes = ['call', 'conference', 'transcribe', 'recording'] as const;
export const aisummaryStatuses = ['progressing', 'done'] as const;

/** An AI summary as the API, events and webhooks show it. */
export const aisummarySchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable(),
  on_end_flow_id: z.uuid().nullable(),
  reference_type: z.enum(aisummaryReferenceTypes),
  reference_id: z.uuid(),
  status: z.enum(aisummaryStatuses),
  language: z.string(),
  content: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Aisummary = z.infer<typeof aisummarySchema>;
