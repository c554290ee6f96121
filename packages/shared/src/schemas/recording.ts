import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/**
 * A recording's life: `recording` while Asterisk records, `stopping` once asked to stop (or the
 * call hung up) until the file is stored, then `ended`; `failed` (with `failure_reason`) when
 * Asterisk could not record or the file could not be stored.
 */
export const recordingStatuses = ['recording', 'stopping', 'ended', 'failed'] as const;
export type RecordingStatus = (typeof recordingStatuses)[number];

/** The two sides of a recorded call: `in` what the caller said, `out` what the caller heard. */
export const recordingDirections = ['in', 'out'] as const;
export type RecordingDirection = (typeof recordingDirections)[number];

/** A recording of a live call: one stereo WAV, left the caller, right what the caller heard. */
export const recordingSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  reference_type: z.enum(['call']),
  reference_id: z.uuid(),
  status: z.enum(recordingStatuses),
  format: z.enum(['wav']),
  /** Length of the stored file; 0 until it is stored. */
  duration_ms: z.number().int().min(0),
  failure_reason: z.string(),
  tm_start: timestamp.nullable(),
  tm_end: timestamp.nullable(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Recording = z.infer<typeof recordingSchema>;

/** `POST /v1.0/recordings`: record a live call of yours. */
export const recordingCreateSchema = z.strictObject({
  reference_type: z.literal('call'),
  reference_id: z.uuid(),
});
export type RecordingCreate = z.infer<typeof recordingCreateSchema>;

/**
 * What flow-manager's bus route `GET /v1/recordings/{id}/audio` answers: one side of a stored
 * recording as 16-bit little-endian mono PCM (base64), a window of at most 60 s.
 */
export const recordingAudioSchema = z.object({
  sample_rate: z.number().int().positive(),
  /** Where the window starts. */
  offset_ms: z.number().int().min(0),
  /** The whole recording's length. */
  duration_ms: z.number().int().min(0),
  /** base64 of 16-bit little-endian mono PCM of the requested direction. */
  audio: z.string(),
});
export type RecordingAudio = z.infer<typeof recordingAudioSchema>;
