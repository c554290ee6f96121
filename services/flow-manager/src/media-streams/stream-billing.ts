import type { ExternalMediaStream, Logger } from '@avp/shared';

/** A stream's use, as ai-manager's billing ledger takes it (its id is the stream's: recorded once). */
export interface StreamUsage {
  id: string;
  customer_id: string;
  aicall_id: null;
  kind: 'external_media';
  /** `external_media.twilio` or `external_media.asterisk`: a rate may be set per format. */
  provider: string;
  /** How long it streamed. */
  audio_seconds: number;
}

/**
 * Bills an ended stream's minutes in the background (ai-manager's `POST /v1/usages`, kind
 * `external_media`, priced at `external_media_per_minute`, 0 unless configured), trying five
 * times over about 10 s while ai-manager is away; a replay is recorded once (the stream's id).
 */
export function billStream(stream: ExternalMediaStream, report: (usage: StreamUsage) => Promise<void>, logger: Logger): void {
  const usage: StreamUsage = { id: stream.id, customer_id: stream.customer_id, aicall_id: null, kind: 'external_media', provider: `external_media.${stream.format}`, audio_seconds: stream.duration_ms / 1000 };
  void (async () => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await report(usage);
        return;
      } catch (error) {
        if (attempt >= 5) {
          logger.error({ err: error, externalMediaId: stream.id }, 'could not bill an external media stream');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  })();
}
