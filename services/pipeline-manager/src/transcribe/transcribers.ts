import { appError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MediaTransport } from '../media/media-transport.ts';
import { createRtpTransport } from '../media/rtp-transport.ts';
import { windowVolume } from '../media/vad/voice-activity-detector.ts';
import { soundVolume } from '../pipeline/end-of-turn.ts';
import { PIPELINE_SAMPLE_RATE, type SttProvider, type SttSession } from '../providers/types.ts';

/**
 * `POST /v1/transcribers` (shared queue): transcribe one direction of a live call. `in` is the
 * caller's own voice, `out` what the caller hears (the AI, a person it was connected to, prompts).
 */
export const transcriberStartSchema = z.object({
  /** The transcription this direction belongs to (its transcripts name it). */
  transcribe_id: z.uuid(),
  customer_id: z.uuid(),
  call_id: z.uuid(),
  direction: z.enum(['in', 'out']),
  stt_type: z.string().default(''),
  stt_language: z.string().default(''),
  /** `stt_phrases` for the offline `local` recogniser. */
  parameter: z.record(z.string(), z.unknown()).default({}),
});
export type TranscriberStart = z.infer<typeof transcriberStartSchema>;

/** One utterance heard in a direction: its text and where in the transcription it started. */
export interface Transcript {
  transcribe_id: string;
  customer_id: string;
  direction: 'in' | 'out';
  text: string;
  /** Milliseconds from the transcription's start to the start of the utterance. */
  offset_ms: number;
}

export interface TranscribersOptions {
  bus: Bus;
  logger: Logger;
  serviceName: string;
  instanceId: string;
  /** Builds the STT of a transcription (the registry in production, from `stt_type` and `parameter`). */
  stt: (request: TranscriberStart) => SttProvider;
  /** Address the RTP sockets bind to and give Asterisk (default 127.0.0.1). */
  rtpAddress?: string;
  /** Where transcripts and usage go (default: ai-manager over the bus). */
  report?: {
    transcript(transcript: Transcript): Promise<unknown>;
    usage(usage: { customer_id: string; transcribe_id: string; provider: string; audio_seconds: number }): Promise<unknown>;
  };
}

interface Running {
  id: string;
  request: TranscriberStart;
  transport: MediaTransport;
  stt: SttSession;
  provider: string;
  legChannelId: string | undefined;
  startedAt: number;
  /** When (ms since the start) the first sound since the last transcript was heard. */
  utteranceFrom: number | undefined;
  mediaMs: number;
  stopping: boolean;
  reading: Promise<void>;
}

/**
 * Live transcription of a call, one direction per transcriber: flow-manager bridges a snoop of
 * the call (that direction only) with an RTP external media leg to this process; the audio goes
 * through a streaming STT session, and each final result is a transcript reported with the
 * time its utterance started (the first sound after the previous transcript). Transcribers
 * never send audio back. Ends on a stop request or when the call's leg goes away.
 */
export class Transcribers {
  private readonly running = new Map<string, Running>();
  private readonly logger: Logger;

  constructor(private readonly options: TranscribersOptions) {
    this.logger = options.logger.child({ component: 'transcribers' });
  }

  get size(): number {
    return this.running.size;
  }

  list(): { transcriber_id: string; transcribe_id: string; call_id: string; direction: string; instance_id: string }[] {
    return [...this.running.values()].map((entry) => ({
      transcriber_id: entry.id,
      transcribe_id: entry.request.transcribe_id,
      call_id: entry.request.call_id,
      direction: entry.request.direction,
      instance_id: this.options.instanceId,
    }));
  }

  /** 404 unless the transcriber runs here for this customer. */
  assertOwner(id: string, customerId: string): void {
    const entry = this.running.get(id);
    if (!entry || entry.request.customer_id.toLowerCase() !== customerId.toLowerCase()) throw appError('RESOURCE_NOT_FOUND', `No transcriber ${id} runs here.`);
  }

  async start(request: TranscriberStart): Promise<{ transcriber_id: string; instance_id: string }> {
    const id = randomUUID();
    const provider = this.options.stt(request);
    const transport = await createRtpTransport({ codec: 'ulaw', bindAddress: this.options.rtpAddress ?? '127.0.0.1', bindPort: 0 });
    let legChannelId: string | undefined;
    let stt: SttSession | undefined;
    try {
      const local = transport.localAddress();
      const leg = await this.flowManager<{ channel_id: string; local_host: string | null; local_port: number | null }>(request, 'POST', `/v1/calls/${request.call_id}/snoop_media`, {
        direction: request.direction,
        external_host: `${local.address}:${local.port}`,
        format: 'ulaw',
      });
      legChannelId = leg.channel_id;
      transport.setRemote({ address: leg.local_host ?? '127.0.0.1', port: Number(leg.local_port) });
      stt = await provider.start({ language: request.stt_language, sampleRate: PIPELINE_SAMPLE_RATE });
    } catch (error) {
      await transport.close().catch(() => undefined);
      if (legChannelId) await this.removeLeg(request, legChannelId);
      throw error;
    }
    const entry: Running = {
      id,
      request,
      transport,
      stt,
      provider: provider.name,
      legChannelId,
      startedAt: Date.now(),
      utteranceFrom: undefined,
      mediaMs: 0,
      stopping: false,
      reading: Promise.resolve(),
    };
    this.running.set(id, entry);
    transport.onAudio((frame) => this.onAudio(entry, frame));
    transport.onClose((reason) => {
      if (this.running.get(id)?.stopping === false) this.stop(id, `media closed: ${reason}`).catch(() => undefined);
    });
    entry.reading = this.read(entry);
    this.logger.info({ transcriberId: id, transcribeId: request.transcribe_id, callId: request.call_id, direction: request.direction, stt: provider.name }, 'transcriber started');
    return { transcriber_id: id, instance_id: this.options.instanceId };
  }

  /** Ends a transcriber: the last results are read and reported, the leg removed. 404 when it does not run here. */
  async stop(id: string, reason: string): Promise<void> {
    const entry = this.running.get(id);
    if (!entry) throw appError('RESOURCE_NOT_FOUND', `No transcriber ${id} runs here.`);
    if (entry.stopping) return;
    entry.stopping = true;
    await entry.stt.finish().catch(() => entry.stt.close());
    await entry.reading;
    this.running.delete(id);
    await entry.transport.close().catch(() => undefined);
    if (entry.legChannelId) await this.removeLeg(entry.request, entry.legChannelId);
    this.logger.info({ transcriberId: id, reason, seconds: Math.round(entry.mediaMs / 1000) }, 'transcriber ended');
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.running.keys()].map((id) => this.stop(id, reason)));
  }

  private onAudio(entry: Running, frame: Int16Array): void {
    if (entry.stopping) return;
    // Wall-clock time since the start: audio arrives in real time, and gaps (no packets) still pass in the call.
    if (entry.utteranceFrom === undefined && windowVolume(frame) >= soundVolume) entry.utteranceFrom = Date.now() - entry.startedAt;
    entry.mediaMs += (frame.length / PIPELINE_SAMPLE_RATE) * 1000;
    entry.stt.write(frame);
  }

  private async read(entry: Running): Promise<void> {
    try {
      for await (const event of entry.stt.events) {
        if (event.type === 'final' && event.text.trim() !== '') {
          const transcript: Transcript = {
            transcribe_id: entry.request.transcribe_id,
            customer_id: entry.request.customer_id,
            direction: entry.request.direction,
            text: event.text.trim(),
            offset_ms: Math.round(entry.utteranceFrom ?? Date.now() - entry.startedAt),
          };
          entry.utteranceFrom = undefined;
          await this.report('transcript', () => (this.options.report?.transcript ?? ((body) => this.aiManager('/v1/transcripts', body)))(transcript));
        } else if (event.type === 'usage') {
          const usage = { customer_id: entry.request.customer_id, transcribe_id: entry.request.transcribe_id, provider: entry.provider, audio_seconds: event.audioSeconds };
          // Billed like a voice session's STT (one ledger entry per usage id), without an AIcall.
          const billed = { id: randomUUID(), customer_id: usage.customer_id, kind: 'stt', provider: usage.provider, audio_seconds: usage.audio_seconds };
          await this.report('usage', () => (this.options.report?.usage ? this.options.report.usage(usage) : this.aiManager('/v1/usages', billed)));
        } else if (event.type === 'error') {
          this.logger.warn({ transcriberId: entry.id, err: event.error }, 'transcription STT failed');
          break;
        }
      }
    } catch (error) {
      if (!entry.stopping) this.logger.warn({ transcriberId: entry.id, err: error }, 'transcription STT failed');
    }
    if (!entry.stopping) void this.stop(entry.id, 'the STT session ended').catch(() => undefined);
  }

  private async report(kind: string, send: () => Promise<unknown>): Promise<void> {
    await send().catch((error: unknown) => this.logger.warn({ err: error, kind }, 'could not report a transcription result'));
  }

  private aiManager(uri: string, body: unknown): Promise<unknown> {
    return rpcCall(this.options.bus, 'ai-manager', 'POST', uri, body, { publisher: this.options.serviceName, timeoutMs: 5000 });
  }

  private flowManager<T>(request: TranscriberStart, method: 'POST' | 'DELETE', uri: string, data: Record<string, unknown>): Promise<T> {
    return rpcCall<T>(this.options.bus, 'flow-manager', method, uri, { customer_id: request.customer_id, ...data }, { publisher: this.options.serviceName, timeoutMs: 15_000 });
  }

  private async removeLeg(request: TranscriberStart, channelId: string): Promise<void> {
    await this.flowManager(request, 'DELETE', `/v1/calls/${request.call_id}/snoop_media/${channelId}`, {}).catch((error: unknown) =>
      this.logger.warn({ err: error, callId: request.call_id }, 'could not remove the transcription leg'),
    );
  }
}
