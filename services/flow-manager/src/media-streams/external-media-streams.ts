import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { appError, externalMediaCreateSchema, toApiTimestamp, type ExternalMediaCreate, type ExternalMediaStream } from '@avp/shared';
import type WebSocket from 'ws';
import type { CallControl, CallHandle } from '../domain/calls/call-control.ts';
import { callHandle, findCustomerCall } from '../domain/calls/call-store.ts';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { connectEngine, connectLeg, engineUrlRefusal } from './engine-socket.ts';
import { legFormatOf, MediaRelay, type RelayCounters } from './media-relay.ts';
import { billStream, type StreamUsage } from './stream-billing.ts';

export interface ExternalMediaStreamsOptions {
  /** How long the engine (dial-out) and Asterisk's media leg may take to connect (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a `dial_in` stream waits for its engine (default 60 s). */
  dialInTimeoutMs?: number;
  /** How long an ended stream stays readable over the API (default 1 hour). */
  keepEndedMs?: number;
  /** The base URL engines reach this API at, for `dial_in` streams started by a flow. */
  flowPublicBase?: () => string;
  /**
   * Bills a stream that streamed: its minutes go to ai-manager's usage ledger (`POST /v1/usages`,
   * kind `external_media`, priced at `external_media_per_minute`, 0 unless configured).
   */
  reportUsage?: (usage: StreamUsage) => Promise<void>;
  /** Hangs the call up (an `asterisk`-format engine's `HANGUP`). */
  hangupCall: (customerId: string, callId: string) => Promise<unknown>;
}

/** A stream as this process runs it. */
interface StreamState {
  resource: ExternalMediaStream;
  call: CallHandle;
  counters: RelayCounters;
  startedAt: number | undefined;
  relay: MediaRelay | undefined;
  /** The call's media leg channel, once created. */
  legChannelId: string | undefined;
  /** `dial_in`: the one-time token, until used. */
  token: string | undefined;
  /** `dial_in`: hands the engine's socket over. */
  admit: ((socket: WebSocket) => void) | undefined;
  stopRequested: string | undefined;
  done: Promise<void>;
  resolveDone: () => void;
}

/**
 * External media streams: a live call's audio relayed to and from a third-party engine's
 * WebSocket, in Twilio's Media Streams format or Asterisk's chan_websocket one. A stream takes
 * the call's media leg (a WebSocket leg in a bridge with the caller, `CallControl`) and relays
 * it in this process (`MediaRelay`). Streams live in this process's memory: flow-manager runs
 * once per Stasis app, and a stream does not outlive the process (its leg is removed at the
 * next start like any leg without an AI session).
 */
export class ExternalMediaStreams {
  private readonly streams = new Map<string, StreamState>();
  /** The latest stream of each call. */
  private readonly latestOfCall = new Map<string, string>();

  constructor(
    private readonly context: DomainContext,
    private readonly calls: CallControl,
    private readonly options: ExternalMediaStreamsOptions,
  ) {}

  /**
   * Starts a stream on a live call of the customer's. `dial_out` connects to the engine first and
   * answers once the audio flows (or the stream failed: status `failed`, `end_reason`); `dial_in`
   * answers at once with the URL the engine connects to (`publicBase` is this API's base URL).
   */
  async start(customerId: string, callId: string, input: ExternalMediaCreate, origin: { activeflowId: string | null; publicBase: string }): Promise<{ stream: ExternalMediaStream; done: Promise<void> }> {
    const row = await findCustomerCall(this.context.db, customerId, callId);
    if (!row) throw notFound('Call');
    if (row.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    if (input.direction === 'dial_out') {
      if (!input.url) throw appError('VALIDATION_FAILED', 'url: required for a dial_out stream.');
      const refusal = await engineUrlRefusal(this.context.outbound, input.url);
      if (refusal) throw appError('VALIDATION_FAILED', `url: ${refusal}`);
    } else if (input.url) {
      throw appError('VALIDATION_FAILED', 'url: a dial_in stream gets its URL from the platform; leave url out.');
    }
    const current = this.latestOfCall.get(row.id);
    if (current && isLive(this.streams.get(current)?.resource)) throw appError('INVALID_STATE', 'The call has an external media stream already; stop it first.');

    const id = randomUUID();
    const token = input.direction === 'dial_in' ? randomBytes(24).toString('base64url') : undefined;
    const url = token ? `${origin.publicBase.replace(/^http/, 'ws').replace(/\/$/, '')}/v1.0/calls/${row.id}/external-media/${id}/socket?token=${token}` : input.url!.trim();
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const state: StreamState = {
      resource: {
        id,
        customer_id: customerId,
        call_id: row.id,
        activeflow_id: origin.activeflowId,
        format: input.format,
        direction: input.direction,
        status: 'connecting',
        url,
        stream_sid: input.format === 'twilio' ? `MZ${randomBytes(16).toString('hex')}` : '',
        bytes_sent: 0,
        bytes_received: 0,
        duration_ms: 0,
        end_reason: '',
        tm_start: null,
        tm_end: null,
        tm_create: toApiTimestamp(new Date()),
      },
      call: callHandle(row),
      counters: { bytesSent: 0, bytesReceived: 0 },
      startedAt: undefined,
      relay: undefined,
      legChannelId: undefined,
      token,
      admit: undefined,
      stopRequested: undefined,
      done,
      resolveDone,
    };
    this.prune();
    this.streams.set(id, state);
    this.latestOfCall.set(row.id, id);

    let resolveReady!: () => void;
    const ready = new Promise<void>((resolve) => (resolveReady = resolve));
    if (input.direction === 'dial_out') {
      void this.run(state, input, () => connectEngine(this.context.outbound, url, this.connectTimeoutMs), resolveReady);
      // Answers once the audio flows, or the stream failed (`done` then resolves as well).
      await Promise.race([ready, done]);
    } else {
      const timeoutMs = this.options.dialInTimeoutMs ?? 60_000;
      void this.run(state, input, () => this.waitForEngine(state, timeoutMs), resolveReady);
    }
    return { stream: this.view(state), done };
  }

  /** `external_media_start`: a stream on the flow's call (the option is the action's, `wait` aside). */
  async startForFlow(customerId: string, callId: string, activeflowId: string, option: Record<string, unknown>): Promise<{ id: string; url: string; done: Promise<void> }> {
    const { wait: _wait, ...fields } = option;
    const input = externalMediaCreateSchema.parse(fields);
    const { stream, done } = await this.start(customerId, callId, input, { activeflowId, publicBase: this.options.flowPublicBase?.() ?? 'http://127.0.0.1' });
    return { id: stream.id, url: stream.url, done };
  }

  /** The latest stream of a call of the customer's (404 when it has none). */
  async get(customerId: string, callId: string): Promise<ExternalMediaStream> {
    return this.view(await this.latestOf(customerId, callId));
  }

  /** Stops the call's stream (if it runs) and answers it; 404 when the call never had one. */
  async stop(customerId: string, callId: string, reason = 'stopped through the API'): Promise<ExternalMediaStream> {
    const state = await this.latestOf(customerId, callId);
    await this.end(state, reason);
    return this.view(state);
  }

  /** The latest stream of a call of the customer's: another customer's call is the 404 of a missing one. */
  private async latestOf(customerId: string, callId: string): Promise<StreamState> {
    const row = await findCustomerCall(this.context.db, customerId, callId);
    if (!row) throw notFound('Call');
    const state = this.streams.get(this.latestOfCall.get(row.id) ?? '');
    if (!state) throw notFound('External media stream');
    return state;
  }

  /** `external_media_stop`: ends the call's stream if one runs. */
  async stopCall(customerId: string, callId: string): Promise<void> {
    const state = this.streams.get(this.latestOfCall.get(callId) ?? '');
    if (state && state.resource.customer_id === customerId) await this.end(state, 'external_media_stop');
  }

  /** A caller's DTMF digit (flow-manager's `call_dtmf_received`) goes to the call's engine. */
  dtmf(callId: string, digit: string): void {
    this.streams.get(this.latestOfCall.get(callId) ?? '')?.relay?.dtmf(digit);
  }

  /** The call hung up: its stream ends (its leg closes on its own; this covers a stream still connecting). */
  async callEnded(callId: string): Promise<void> {
    const state = this.streams.get(this.latestOfCall.get(callId) ?? '');
    if (state && isLive(state.resource)) await this.end(state, 'the call ended');
  }

  /**
   * An engine dialling in (`dial_in`): the stream's token, once. Answers whether the socket was
   * taken; a wrong or used token, or a stream that is not waiting, is refused.
   */
  admitEngine(callId: string, streamId: string, token: string, socket: WebSocket): boolean {
    const state = this.streams.get(streamId);
    if (!state || state.resource.call_id !== callId || !state.token || !state.admit) return false;
    const expected = Buffer.from(state.token);
    const given = Buffer.from(token);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    state.token = undefined;
    state.admit(socket);
    return true;
  }

  /** Ends every stream (shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.streams.values()].filter((state) => isLive(state.resource)).map((state) => this.end(state, 'flow-manager is stopping')));
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 10_000;
  }

  private waitForEngine(state: StreamState, timeoutMs: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        state.admit = undefined;
        state.token = undefined;
        reject(new Error(`no engine connected within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      state.admit = (socket) => {
        clearTimeout(timer);
        state.admit = undefined;
        resolve(socket);
      };
      // A stop while waiting.
      void state.done.then(() => {
        clearTimeout(timer);
        reject(new Error(state.stopRequested ?? 'stopped'));
      });
    });
  }

  /** Connects the engine and the call's leg, then relays until either side ends. */
  private async run(state: StreamState, input: ExternalMediaCreate, engineOf: () => Promise<WebSocket>, streaming: () => void): Promise<void> {
    const logger = this.context.logger.child({ externalMediaId: state.resource.id, callId: state.call.id });
    let engine: WebSocket | undefined;
    try {
      engine = await engineOf();
      if (state.stopRequested) throw new Error(state.stopRequested);
      const media = await this.calls.startExternalMedia(state.call, { transport: 'websocket', format: legFormatOf(input.format) });
      state.legChannelId = media.channelId;
      if (!media.websocketUrl) throw new Error('Asterisk gave no media WebSocket URL');
      const leg = await connectLeg(media.websocketUrl, this.connectTimeoutMs);
      await this.calls.attachExternalMedia(state.call);
      if (state.stopRequested) {
        leg.socket.close();
        throw new Error(state.stopRequested);
      }
      const relay = new MediaRelay({
        format: input.format,
        leg: leg.socket,
        early: leg.early,
        engine,
        twilio: { streamSid: state.resource.stream_sid, callSid: `CA${state.call.id.replace(/-/g, '')}`, accountSid: `AC${state.resource.customer_id.replace(/-/g, '')}`, customParameters: input.custom_parameters },
        asterisk: { connectionId: state.resource.id, channel: `WebSocket/${state.call.id}`, channelId: state.call.id },
        counters: state.counters,
        onHangupRequest: () => void this.options.hangupCall(state.resource.customer_id, state.call.id).catch((error: unknown) => logger.warn({ err: error }, 'hanging up for the engine failed')),
        logger,
      });
      state.relay = relay;
      state.startedAt = Date.now();
      state.resource = { ...state.resource, status: 'streaming', tm_start: toApiTimestamp(new Date()), url: input.direction === 'dial_in' ? '' : state.resource.url };
      relay.start();
      streaming();
      await this.context.publish('external_media_started', this.view(state));
      logger.info({ format: input.format, direction: input.direction }, 'external media stream started');
      const reason = await relay.ended;
      await this.finish(state, reason, 'ended');
    } catch (error) {
      engine?.terminate();
      const reason = state.stopRequested ?? (error instanceof Error ? error.message : String(error));
      logger.warn({ err: error }, 'external media stream failed');
      await this.finish(state, reason, 'failed');
    }
  }

  private async end(state: StreamState, reason: string): Promise<void> {
    if (!isLive(state.resource)) return;
    state.stopRequested ??= reason;
    if (state.relay) {
      state.relay.stop(reason);
    } else {
      // Not streaming yet: `run` notices the request, or a dial-in wait is cut short.
      state.resolveDone();
    }
    await state.done;
  }

  private async finish(state: StreamState, reason: string, status: 'ended' | 'failed'): Promise<void> {
    if (!isLive(state.resource)) return;
    if (state.legChannelId) await this.calls.stopExternalMedia(state.call, state.legChannelId).catch((error: unknown) => this.context.logger.debug({ err: error }, 'external media leg already gone'));
    const durationMs = state.startedAt === undefined ? 0 : Date.now() - state.startedAt;
    state.token = undefined;
    state.admit = undefined;
    state.resource = {
      ...this.view(state),
      status: state.relay || state.stopRequested ? 'ended' : status,
      end_reason: state.stopRequested ?? reason,
      duration_ms: durationMs,
      tm_end: toApiTimestamp(new Date()),
    };
    state.relay = undefined;
    if (state.startedAt !== undefined) {
      await this.context.publish('external_media_stopped', state.resource);
      if (this.options.reportUsage) billStream(state.resource, this.options.reportUsage, this.context.logger);
    }
    state.resolveDone();
  }

  private view(state: StreamState): ExternalMediaStream {
    const live = state.resource.status === 'streaming' && state.startedAt !== undefined;
    return {
      ...state.resource,
      bytes_sent: state.counters.bytesSent,
      bytes_received: state.counters.bytesReceived,
      duration_ms: live ? Date.now() - state.startedAt! : state.resource.duration_ms,
    };
  }

  private prune(): void {
    const keepMs = this.options.keepEndedMs ?? 3_600_000;
    const now = Date.now();
    for (const [id, state] of this.streams) {
      if (isLive(state.resource) || !state.resource.tm_end) continue;
      if (now - Date.parse(state.resource.tm_end) < keepMs) continue;
      this.streams.delete(id);
      if (this.latestOfCall.get(state.resource.call_id) === id) this.latestOfCall.delete(state.resource.call_id);
    }
  }
}

function isLive(resource: ExternalMediaStream | undefined): boolean {
  return resource !== undefined && (resource.status === 'connecting' || resource.status === 'streaming');
}
