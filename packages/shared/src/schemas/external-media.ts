import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/**
 * The wire format a third-party engine speaks on an external media stream: `twilio` (Twilio
 * Media Streams JSON, u-law 8 kHz) or `asterisk` (Asterisk's chan_websocket protocol, binary
 * slin16 frames and its text commands).
 */
export const externalMediaFormats = ['twilio', 'asterisk'] as const;
export type ExternalMediaFormat = (typeof externalMediaFormats)[number];

/** `dial_out`: the platform connects to the engine's URL; `dial_in`: the engine connects to a URL with a one-time token. */
export const externalMediaDirections = ['dial_out', 'dial_in'] as const;
export type ExternalMediaDirection = (typeof externalMediaDirections)[number];

/**
 * A stream's life: `connecting` (the call's media leg and the engine's socket are being set
 * up; for `dial_in`, waiting for the engine), `streaming`, then `ended` (with `end_reason`) or
 * `failed` (it never streamed).
 */
export const externalMediaStatuses = ['connecting', 'streaming', 'ended', 'failed'] as const;
export type ExternalMediaStatus = (typeof externalMediaStatuses)[number];

/** A `ws://` or `wss://` URL (the engine's). */
export const websocketUrlSchema = z
  .string()
  .min(1)
  .max(2000)
  .refine((value) => /^wss?:\/\//i.test(value.trim()), { message: 'must be a ws:// or wss:// URL' });

/** Name/value strings handed to the engine (Twilio's `start.customParameters`). */
const customParametersSchema = z.record(z.string().min(1).max(100), z.string().max(1000)).refine((value) => Object.keys(value).length <= 20, { message: 'at most 20 parameters' });

/** `url` is the engine's for `dial_out` (required) and the platform's for `dial_in` (not given). */
export function urlMatchesDirection(option: { url?: string | undefined; direction: ExternalMediaDirection }): boolean {
  return option.direction === 'dial_out' ? option.url !== undefined : option.url === undefined;
}
const urlMatchesDirectionMessage = { message: 'url: required with direction dial_out, and left out with dial_in (the platform gives the URL)' };

/**
 * `POST /v1.0/calls/{id}/external-media`. Whether `url` fits `direction` is checked once the
 * call is found to be the caller's (a 404 comes first, as on every route of a resource).
 */
export const externalMediaCreateSchema = z.strictObject({
  /** The engine's WebSocket URL; required for `dial_out`, refused for `dial_in`. */
  url: websocketUrlSchema.optional(),
  format: z.enum(externalMediaFormats).default('twilio'),
  direction: z.enum(externalMediaDirections).default('dial_out'),
  custom_parameters: customParametersSchema.default({}),
});

/** The `external_media_start` action's option: a stream's fields, and whether the flow waits for its end (default). */
export const externalMediaActionOptionSchema = z
  .strictObject({
    url: websocketUrlSchema.optional(),
    format: z.enum(externalMediaFormats).default('twilio'),
    direction: z.enum(externalMediaDirections).default('dial_out'),
    custom_parameters: customParametersSchema.default({}),
    wait: z.boolean().default(true),
  })
  .refine(urlMatchesDirection, urlMatchesDirectionMessage);
export type ExternalMediaCreate = z.output<typeof externalMediaCreateSchema>;

/** An external media stream: a live call's audio relayed to and from a third-party engine. */
export const externalMediaStreamSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  call_id: z.uuid(),
  /** The activeflow whose `external_media_start` started it; null when started over the API. */
  activeflow_id: z.uuid().nullable(),
  format: z.enum(externalMediaFormats),
  direction: z.enum(externalMediaDirections),
  status: z.enum(externalMediaStatuses),
  /** `dial_out`: the engine's URL. `dial_in`: the URL the engine connects to (one-time token in its query), until it has connected. */
  url: z.string(),
  /** `twilio`: the `streamSid` the engine sees (`MZ...`); empty for `asterisk`. */
  stream_sid: z.string(),
  /** Audio bytes (wire-format payload) sent to the engine and received from it. */
  bytes_sent: z.number().int().min(0),
  bytes_received: z.number().int().min(0),
  /** How long it has streamed (until now while `streaming`). */
  duration_ms: z.number().int().min(0),
  end_reason: z.string(),
  tm_start: timestamp.nullable(),
  tm_end: timestamp.nullable(),
  tm_create: timestamp,
});
export type ExternalMediaStream = z.infer<typeof externalMediaStreamSchema>;
