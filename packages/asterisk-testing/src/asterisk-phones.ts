import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import {
  buildRtpPacket,
  Caller,
  decodeBytes,
  encodeSamples,
  ENGINE_FRAME_SAMPLES,
  parseRtpPacket,
  RateConverter,
  type CallerChannel,
  type CallerOptions,
} from '@avp/asterisk-simulator';
import { AriTestClient, type AriTestEvent } from './ari-test-client.ts';
import { MediaTicker } from './media-ticker.ts';

/**
 * The phones speak G.711 u-law (payload type 0), as a phone line does. Not slin16: a real
 * Asterisk's UnicastRTP channel sends slin16 (payload type 118) but drops it on receipt, since
 * only static payload types (0-34) are known to a channel without SDP.
 */
const ULAW_PAYLOAD_TYPE = 0;
/** Received frames held for the caller at most (older ones are dropped to keep latency low). */
const MAX_HELD_FRAMES = 4;

export interface PhoneCallOptions {
  /** The number dialled: `${EXTEN}` in the inbound context, matched by the platform. */
  extension: string;
  callerNumber?: string;
  callerName?: string;
  /** Dialplan context the call enters (default `avp-inbound`). */
  context?: string;
  callerOptions?: CallerOptions;
}

/** One phone: its channel in the phones' app, its media leg, and the scripted Caller on it. */
interface PhoneLeg {
  caller: Caller;
  channel: { id: string; state: string };
  /** The channel the phones' app controls (a placed call's `;1`, a callee's `;2`). */
  ariChannelId: string;
  bridgeId: string;
  mediaChannelId: string;
  socket: Socket | undefined;
  remote: { address: string; port: number } | undefined;
  held: Int16Array[];
  rtp: { sequence: number; timestamp: number; ssrc: number; marker: boolean };
  /** Settles once the phone's channel exists in Asterisk (a placed call's originate answered). */
  created: Promise<void>;
  /** 16 kHz (the Caller) to the line's 8 kHz and back. */
  down: RateConverter;
  up: RateConverter;
  ended: boolean;
}

/**
 * Phones on a real Asterisk, driven over ARI from the test process: a placed call is a Local
 * channel into the inbound context (`Local/<number>@avp-inbound/n`), so the platform sees an
 * ordinary inbound call in its Stasis app; the phone's own half enters the phones' app once
 * answered and is bridged with an RTP external media leg to a UDP socket here. Each phone is the
 * simulator's scripted `Caller` (same measurements, same API), fed and drained on a 20 ms clock,
 * so a test runs unchanged against either. Callees of the platform's `connect` arrive through
 * the `avp-test-callee` context (`Stasis(<phones app>,callee,<number>)`).
 */
export class AsteriskPhones {
  readonly outboundCalls = new EventEmitter<{ call: [Caller, string] }>();
  private readonly legs = new Map<string, PhoneLeg>();
  private readonly ticker = new MediaTicker(() => this.tick());
  private closed = false;

  private constructor(
    public client: AriTestClient,
    private readonly options: { autoAnswerCallees: boolean },
  ) {
    client.on('event', (event) => void this.onEvent(event).catch(() => undefined));
  }

  /**
   * After Asterisk restarted: every phone's call is gone (each Caller hangs up), and the phones'
   * app connects again for new calls.
   */
  async reconnect(): Promise<void> {
    for (const leg of [...this.legs.values()]) await this.end(leg);
    await this.client.close();
    const client = new AriTestClient(this.client.url, this.client.user, this.client.password, this.client.app);
    await client.connect();
    client.on('event', (event) => void this.onEvent(event).catch(() => undefined));
    this.client = client;
  }

  /** Connects the phones' Stasis app (`app`) to Asterisk. */
  static async start(ari: { url: string; user: string; password: string }, app: string, options: { autoAnswerCallees?: boolean } = {}): Promise<AsteriskPhones> {
    const client = new AriTestClient(ari.url, ari.user, ari.password, app);
    await client.connect();
    return new AsteriskPhones(client, { autoAnswerCallees: options.autoAnswerCallees ?? true });
  }

  get app(): string {
    return this.client.app;
  }

  /** Places a call to `extension`; the Caller's id is the channel the platform sees. */
  placeCall(options: PhoneCallOptions): Caller {
    const ownId = `phone-${randomUUID()}`;
    const platformId = randomUUID();
    const leg = this.newLeg(ownId, platformId, options.callerOptions);
    const callerId = options.callerName ? `"${options.callerName}" <${options.callerNumber ?? ''}>` : options.callerNumber;
    leg.created = (async () => {
      await this.client.request('POST', '/channels', {
        endpoint: `Local/${options.extension}@${options.context ?? 'avp-inbound'}/n`,
        app: this.app,
        appArgs: 'caller',
        // A phone line is G.711; without this a Local channel takes the widest format (slin192).
        formats: 'ulaw',
        channelId: ownId,
        otherChannelId: platformId,
        callerId,
        timeout: 120,
      });
      // Until answered the phone's half is not in the app: its hang-up reaches us only this way.
      await this.client.request('POST', `/applications/${encodeURIComponent(this.app)}/subscription`, { eventSource: `channel:${ownId}` }).catch(() => undefined);
    })();
    leg.created.catch(() => this.end(leg));
    return leg.caller;
  }

  /** Resolves with the next callee the platform dials (through `avp-test-callee`). */
  nextOutboundCall(timeoutMs = 5000): Promise<Caller> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.outboundCalls.off('call', listener);
        reject(new Error(`no outbound call within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (caller: Caller) => {
        clearTimeout(timer);
        resolve(caller);
      };
      this.outboundCalls.once('call', listener);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const leg of [...this.legs.values()]) {
      await this.client.request('DELETE', `/channels/${encodeURIComponent(leg.ariChannelId)}`).catch(() => undefined);
      await this.end(leg);
    }
    this.ticker.stop();
    await this.client.close();
  }

  private newLeg(ariChannelId: string, visibleId: string, callerOptions: CallerOptions | undefined): PhoneLeg {
    const channel = { id: visibleId, state: 'Down' };
    const leg: PhoneLeg = {
      caller: undefined as unknown as Caller,
      channel,
      ariChannelId,
      bridgeId: `phone-bridge-${randomUUID()}`,
      mediaChannelId: `phone-media-${randomUUID()}`,
      socket: undefined,
      remote: undefined,
      held: [],
      created: Promise.resolve(),
      rtp: { sequence: Math.floor(Math.random() * 65_536), timestamp: Math.floor(Math.random() * 2 ** 31), ssrc: Math.floor(Math.random() * 2 ** 32), marker: true },
      down: new RateConverter(16_000, 8000),
      up: new RateConverter(8000, 16_000),
      ended: false,
    };
    const caller = new Caller(
      {
        dtmf: (digit, durationMs) => {
          void this.client.request('POST', `/channels/${encodeURIComponent(ariChannelId)}/dtmf`, { dtmf: digit, duration: durationMs }).catch(() => undefined);
        },
        hangup: (cause) => {
          // A caller may hang up before its originate was even answered: the channel must exist first.
          void leg.created
            .then(() => this.client.request('DELETE', `/channels/${encodeURIComponent(ariChannelId)}`, { reason_code: cause }))
            .catch(() => undefined);
        },
        answer: () => {
          void this.answerCallee(leg).catch(() => this.end(leg));
        },
        mediaLegs: () => [],
      },
      callerOptions,
    );
    caller.channel = channel as CallerChannel;
    leg.caller = caller;
    this.legs.set(ariChannelId, leg);
    return leg;
  }

  private async onEvent(event: AriTestEvent): Promise<void> {
    const channelId = event.channel?.id;
    if (!channelId) return;
    if (event.type === 'StasisStart') {
      const role = event.args?.[0];
      const leg = this.legs.get(channelId);
      if (role === 'caller' && leg) await this.connectMedia(leg).catch(() => this.end(leg));
      else if (role === 'callee') {
        // The platform knows the callee by the half it originated (`;1`); the phones hold `;2`.
        const callee = this.newLeg(channelId, await this.originatedHalf(event.channel?.name ?? '', channelId), undefined);
        this.outboundCalls.emit('call', callee.caller, event.args?.[1] ?? '');
        if (this.options.autoAnswerCallees) await this.answerCallee(callee).catch(() => this.end(callee));
      }
      return;
    }
    if (event.type === 'StasisEnd' || event.type === 'ChannelDestroyed' || event.type === 'ChannelHangupRequest') {
      const leg = this.legs.get(channelId);
      if (leg) await this.end(leg);
    }
    if (event.type === 'ChannelDtmfReceived' && event.digit) this.legs.get(channelId)?.caller.receiveDtmf(event.digit);
  }

  /** The id of the `;1` half of the Local channel whose `;2` half is `name` (itself when there is none). */
  private async originatedHalf(name: string, fallback: string): Promise<string> {
    if (!name.endsWith(';2')) return fallback;
    const wanted = `${name.slice(0, -2)};1`;
    const channels = await this.client.request<{ id: string; name: string }[]>('GET', '/channels').catch(() => []);
    return channels.find((channel) => channel.name === wanted)?.id ?? fallback;
  }

  private async answerCallee(leg: PhoneLeg): Promise<void> {
    await this.client.request('POST', `/channels/${encodeURIComponent(leg.ariChannelId)}/answer`);
    await this.connectMedia(leg);
  }

  /** Bridges the phone's channel with an RTP leg to a socket here; the caller speaks from then on. */
  private async connectMedia(leg: PhoneLeg): Promise<void> {
    const socket = createSocket('udp4');
    leg.socket = socket;
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    socket.on('message', (data) => this.receive(leg, data));
    const port = socket.address().port;
    await this.client.request('POST', '/bridges', { type: 'mixing', bridgeId: leg.bridgeId, name: 'phone' });
    const started = this.client.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === leg.mediaChannelId, 5000, 'StasisStart of the phone media leg');
    const media = await this.client.request('POST', '/channels/externalMedia', {
      app: this.app,
      channelId: leg.mediaChannelId,
      external_host: `127.0.0.1:${port}`,
      format: 'ulaw',
      encapsulation: 'rtp',
      transport: 'udp',
    });
    const variables = (media as { channelvars?: Record<string, string> }).channelvars ?? {};
    leg.remote = { address: variables.UNICASTRTP_LOCAL_ADDRESS ?? '127.0.0.1', port: Number(variables.UNICASTRTP_LOCAL_PORT) };
    // Asterisk answers externalMedia before the channel is in Stasis: bridging it earlier is a 422.
    await started;
    await this.client.request('POST', `/bridges/${encodeURIComponent(leg.bridgeId)}/addChannel`, { channel: `${leg.ariChannelId},${leg.mediaChannelId}` });
    if (leg.ended) return;
    leg.channel.state = 'Up';
    leg.caller.answered();
    this.ticker.start();
  }

  private receive(leg: PhoneLeg, data: Buffer): void {
    const packet = parseRtpPacket(data);
    if (!packet || packet.payloadType !== ULAW_PAYLOAD_TYPE) return;
    // A burst may end with a short packet: it is padded to a whole frame.
    const samples = leg.up.convert(decodeBytes('ulaw', packet.payload, 'big'));
    const frame = new Int16Array(ENGINE_FRAME_SAMPLES);
    frame.set(samples.subarray(0, ENGINE_FRAME_SAMPLES));
    leg.held.push(frame);
    if (leg.held.length > MAX_HELD_FRAMES) leg.held.shift();
  }

  private tick(): void {
    for (const leg of this.legs.values()) {
      if (leg.ended || leg.channel.state !== 'Up') continue;
      const frame = leg.caller.produce();
      if (frame && leg.socket && leg.remote) {
        const payload = encodeSamples('ulaw', leg.down.convert(frame), 'big');
        leg.socket.send(buildRtpPacket({ payloadType: ULAW_PAYLOAD_TYPE, sequenceNumber: leg.rtp.sequence, timestamp: leg.rtp.timestamp, ssrc: leg.rtp.ssrc, marker: leg.rtp.marker, payload }), leg.remote.port, leg.remote.address);
        leg.rtp.marker = false;
        leg.rtp.sequence = (leg.rtp.sequence + 1) & 0xffff;
      } else if (!frame) {
        // A talkspurt starts again with the marker set, as a phone with silence suppression does.
        leg.rtp.marker = true;
      }
      leg.rtp.timestamp = (leg.rtp.timestamp + ENGINE_FRAME_SAMPLES / 2) >>> 0;
      leg.caller.consume(leg.held.shift() ?? null);
    }
  }

  private async end(leg: PhoneLeg): Promise<void> {
    if (leg.ended) return;
    leg.ended = true;
    this.legs.delete(leg.ariChannelId);
    leg.caller.close();
    leg.socket?.close();
    await this.client.request('DELETE', `/channels/${encodeURIComponent(leg.mediaChannelId)}`).catch(() => undefined);
    await this.client.request('DELETE', `/bridges/${encodeURIComponent(leg.bridgeId)}`).catch(() => undefined);
    if (this.legs.size === 0) this.ticker.stop();
  }
}
