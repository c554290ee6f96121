import { appError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MediaTransport } from '../media/media-transport.ts';
import { createRtpTransport } from '../media/rtp-transport.ts';
import { windowVolume } from '../media/vad/voice-activity-detector.ts';
import { soundVolume } from '../pipeline/end-of-turn.ts';
import { PIPELINE_SAMPLE_RATE, type SttProvider, type SttSession } from '../providers/types.ts';
import { recordingFrames, recordingWindowMs, recordingWindowSchema, type RecordingWindowReader } from './recording-audio.ts';

/**
 * `POST /v1/transcribers` (shared queue): transcribe one direction of a live call, or of a
 * stored recording of one. `in` is the caller's own voice, `out` what the caller hears (the AI,
 * a person it was connected to, prompts).
 */
export const transcriberStartSchema = z
  .object({
    /** The transcription this direction belongs to (its transcripts name it). */
    transcribe_id: z.uuid(),
    customer_id: z.uuid(),
    /** A live call ... */
    call_id: z.uuid().optional(),
    /** ... or a recording that has ended (flow-manager serves its audio). */
    recording_id: z.uuid().optional(),
    direction: z.enum(['in', 'out']),
    stt_type: z.string().default(''),
    stt_language: z.string().default(''),
    /** `stt_phrases` for the offline `local` recogniser. */
    parameter: z.record(z.string(), z.unknown()).default({}),
    /** Epoch ms the transcript offsets of a call count from (the same for both directions); default: when this transcriber starts. */
    origin_ms: z.number().int().min(0).optional(),
    /**
     * A recording's transcriber started again after the first was lost: the utterances starting
     * at or before this position (ms into the recording) were reported by the first one, and are
     * heard again without being reported.
     */
    resume_after_ms: z.number().int().min(0).optional(),
  })
  .refine((request) => (request.call_id === undefined) !== (request.recording_id === undefined), { message: 'Name either call_id or recording_id.' });
export type TranscriberStart = z.infer<typeof transcriberStartSchema>;

/** Quiet after sound that ends an utterance in a recording (the local recogniser's endpoint is 600 ms). */
const utteranceGapMs = 800;

/**
 * Longest wait for a recogniser's final after an utterance of a recording. The recogniser
 * answers every utterance (an empty final for sound without words), so this only bounds a
 * recogniser that went quiet; a slow one (a long utterance on a busy machine) is waited for, or
 * its words would be taken for the next utterance's or lost.
 */
const finalWaitMs = 15_000;

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
    /** A recording's transcriber heard the whole file (its transcripts were reported before). */
    finished?(finished: { customer_id: string; transcribe_id: string; transcriber_id: string }): Promise<unknown>;
  };
  /** How fast a recording is fed to its recogniser, in times real time (default 10). */
  recordingSpeed?: number;
}

interface Running {
  id: string;
  request: TranscriberStart;
  /** A live call's media leg (none for a recording). */
  transport: MediaTransport | undefined;
  stt: SttSession;
  provider: string;
  legChannelId: string | undefined;
  /** Epoch ms a call's offsets count from. */
  originMs: number;
  /** When (ms from the origin, or into the recording) the first sound since the last transcript was heard. */
  utteranceFrom: number | undefined;
  mediaMs: number;
  stopping: boolean;
  reading: Promise<void>;
  /** A recording's feeding of its audio to the recogniser. */
  feeding: Promise<void>;
  /** Called when a final result was reported (a recording's feeding waits for it). */
  onFinal: (() => void) | undefined;
}

/** A transcriber's state as it starts: nothing heard yet. */
function runningEntry(
  id: string,
  request: TranscriberStart,
  stt: SttSession,
  provider: string,
  source: Pick<Running, 'transport' | 'legChannelId' | 'originMs'>,
): Running {
  return { id, request, stt, provider, ...source, utteranceFrom: undefined, mediaMs: 0, stopping: false, reading: Promise.resolve(), feeding: Promise.resolve(), onFinal: undefined };
}

/**
 * Transcription, one direction per transcriber. Of a live call: flow-manager bridges a snoop of
 * the call (that direction only) with an RTP external media leg to this process; the audio goes
 * through a streaming STT session, and each final result is a transcript reported with the
 * time its utterance started (the first sound after the previous transcript), counted from the
 * transcription's origin. Transcribers never send audio back. Ends on a stop request or when the
 * call's leg goes away. Of a recording: its audio is read from flow-manager and fed to the same
 * STT faster than real time (offsets are positions in the recording); at its end ai-manager is
 * told, once every transcript is reported.
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

  list(): { transcriber_id: string; transcribe_id: string; call_id: string | null; recording_id: string | null; direction: string; instance_id: string }[] {
    return [...this.running.values()].map((entry) => ({
      transcriber_id: entry.id,
      transcribe_id: entry.request.transcribe_id,
      call_id: entry.request.call_id ?? null,
      recording_id: entry.request.recording_id ?? null,
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
    return request.recording_id ? this.startRecording(request, request.recording_id) : this.startCall(request, request.call_id!);
  }

  private async startCall(request: TranscriberStart, callId: string): Promise<{ transcriber_id: string; instance_id: string }> {
    const id = randomUUID();
    const provider = this.options.stt(request);
    const transport = await createRtpTransport({ codec: 'ulaw', bindAddress: this.options.rtpAddress ?? '127.0.0.1', bindPort: 0 });
    let legChannelId: string | undefined;
    let stt: SttSession | undefined;
    try {
      const local = transport.localAddress();
      const leg = await this.flowManager<{ channel_id: string; local_host: string | null; local_port: number | null }>(request, 'POST', `/v1/calls/${callId}/snoop_media`, {
        direction: request.direction,
        external_host: `${local.address}:${local.port}`,
        format: 'ulaw',
      });
      legChannelId = leg.channel_id;
      transport.setRemote({ address: leg.local_host ?? '127.0.0.1', port: Number(leg.local_port) });
      stt = await provider.start({ language: request.stt_language, sampleRate: PIPELINE_SAMPLE_RATE });
    } catch (error) {
      await transport.close().catch(() => undefined);
      if (legChannelId) await this.removeLeg(request, callId, legChannelId);
      throw error;
    }
    const entry = runningEntry(id, request, stt, provider.name, { transport, legChannelId, originMs: request.origin_ms ?? Date.now() });
    this.running.set(id, entry);
    transport.onAudio((frame) => this.onAudio(entry, frame));
    transport.onClose((reason) => {
      if (this.running.get(id)?.stopping === false) this.stop(id, `media closed: ${reason}`).catch(() => undefined);
    });
    entry.reading = this.read(entry);
    this.logger.info({ transcriberId: id, transcribeId: request.transcribe_id, callId, direction: request.direction, stt: provider.name }, 'transcriber started');
    return { transcriber_id: id, instance_id: this.options.instanceId };
  }

  /** A recording's direction: its first window is read before answering (a recording that is not the customer's is a 404 then). */
  private async startRecording(request: TranscriberStart, recordingId: string): Promise<{ transcriber_id: string; instance_id: string }> {
    const id = randomUUID();
    const provider = this.options.stt(request);
    const read: RecordingWindowReader = async (offsetMs, lengthMs) =>
      recordingWindowSchema.parse(
        await rpcCall(
          this.options.bus,
          'flow-manager',
          'GET',
          `/v1/recordings/${recordingId}/audio?customer_id=${encodeURIComponent(request.customer_id)}&direction=${request.direction}&offset_ms=${offsetMs}&length_ms=${lengthMs}`,
          undefined,
          { publisher: this.options.serviceName, timeoutMs: 15_000 },
        ),
      );
    const first = await read(0, recordingWindowMs);
    const stt = await provider.start({ language: request.stt_language, sampleRate: PIPELINE_SAMPLE_RATE });
    const entry = runningEntry(id, request, stt, provider.name, { transport: undefined, legChannelId: undefined, originMs: Date.now() });
    this.running.set(id, entry);
    entry.reading = this.read(entry);
    entry.feeding = this.feed(entry, (offsetMs, lengthMs) => (offsetMs === 0 ? Promise.resolve(first) : read(offsetMs, lengthMs)));
    this.logger.info(
      { transcriberId: id, transcribeId: request.transcribe_id, recordingId, direction: request.direction, seconds: Math.round(first.duration_ms / 1000), stt: provider.name },
      'recording transcriber started',
    );
    return { transcriber_id: id, instance_id: this.options.instanceId };
  }

  /**
   * Feeds a recording to its recogniser (paced at `recordingSpeed` times real time), then reads
   * the last results and reports the end. After each utterance (sound, then `utteranceGapMs` of
   * quiet) it waits for the recogniser's final (at most `finalWaitMs`) before going on: fed
   * faster than real time, the next utterance would otherwise begin before the last one's final
   * came, and take its start for its own.
   */
  private async feed(entry: Running, read: RecordingWindowReader): Promise<void> {
    const speed = this.options.recordingSpeed ?? 10;
    const startedAt = Date.now();
    let quietMs = 0;
    try {
      for await (const frame of recordingFrames(read, PIPELINE_SAMPLE_RATE)) {
        if (entry.stopping) return;
        this.onAudio(entry, frame);
        quietMs = windowVolume(frame) >= soundVolume ? 0 : quietMs + 20;
        if (entry.utteranceFrom !== undefined && quietMs >= utteranceGapMs) {
          const heard = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), finalWaitMs);
            entry.onFinal = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          entry.onFinal = undefined;
          // No final for that sound (noise, a cough): the next utterance starts afresh.
          if (!heard) entry.utteranceFrom = undefined;
        }
        // Every second of audio: let the recogniser and the reports run, and keep to the pace.
        if (entry.mediaMs % 1000 === 0) {
          const ahead = entry.mediaMs / speed - (Date.now() - startedAt);
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, ahead)));
        }
      }
    } catch (error) {
      this.logger.warn({ transcriberId: entry.id, err: error }, 'could not read the recording; the transcription ends with what was heard');
    }
    if (entry.stopping) return;
    entry.stopping = true;
    await entry.stt.finish().catch(() => entry.stt.close());
    await entry.reading;
    this.running.delete(entry.id);
    const finished = { customer_id: entry.request.customer_id, transcribe_id: entry.request.transcribe_id, transcriber_id: entry.id };
    await this.report('finished', () => (this.options.report?.finished ? this.options.report.finished(finished) : this.aiManager('/v1/transcribers/finished', finished)));
    this.logger.info({ transcriberId: entry.id, seconds: Math.round(entry.mediaMs / 1000) }, 'recording transcriber finished');
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
    await entry.transport?.close().catch(() => undefined);
    if (entry.legChannelId && entry.request.call_id) await this.removeLeg(entry.request, entry.request.call_id, entry.legChannelId);
    this.logger.info({ transcriberId: id, reason, seconds: Math.round(entry.mediaMs / 1000) }, 'transcriber ended');
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.allSettled([...this.running.keys()].map((id) => this.stop(id, reason)));
  }

  private onAudio(entry: Running, frame: Int16Array): void {
    if (entry.stopping) return;
    // A call's: wall-clock time since the origin (audio arrives in real time, and gaps with no
    // packets still pass in the call); a recording's: the position in it.
    if (entry.utteranceFrom === undefined && windowVolume(frame) >= soundVolume) entry.utteranceFrom = this.position(entry);
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
            offset_ms: Math.max(0, Math.round(entry.utteranceFrom ?? this.position(entry))),
          };
          entry.utteranceFrom = undefined;
          entry.onFinal?.();
          const resumeAfterMs = entry.request.resume_after_ms;
          if (!entry.transport && resumeAfterMs !== undefined && transcript.offset_ms <= resumeAfterMs) continue;
          await this.report('transcript', () => (this.options.report?.transcript ?? ((body) => this.aiManager('/v1/transcripts', body)))(transcript));
        } else if (event.type === 'final' && entry.onFinal) {
          // A recording's utterance with no words in it (noise): the recogniser has answered.
          entry.utteranceFrom = undefined;
          entry.onFinal();
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
    // A recording's feeding ends it by itself (and reports the end).
    if (!entry.stopping && entry.transport) void this.stop(entry.id, 'the STT session ended').catch(() => undefined);
  }

  private position(entry: Running): number {
    return entry.transport ? Date.now() - entry.originMs : entry.mediaMs;
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

  private async removeLeg(request: TranscriberStart, callId: string, channelId: string): Promise<void> {
    await this.flowManager(request, 'DELETE', `/v1/calls/${callId}/snoop_media/${channelId}`, {}).catch((error: unknown) =>
      this.logger.warn({ err: error, callId }, 'could not remove the transcription leg'),
    );
  }
}
