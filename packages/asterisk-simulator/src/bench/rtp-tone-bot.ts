import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { decodeBytes, encodeSamples, rms } from '../media/codecs.ts';
import { buildRtpPacket, parseRtpPacket } from '../media/rtp-packet.ts';
import { sineTone } from '../media/wav.ts';
import type { PlainAriClient, ReceivedEvent } from '../testing/plain-ari-client.ts';

/**
 * A minimal ARI voice app for benchmarks and demos: answers each call, bridges it with an
 * externalMedia u-law RTP leg, and replies with a tone once no loud packet has come for
 * `quietFramesBeforeReply` frames; the tone stops the moment the caller talks again (barge-in).
 * A silent caller sends no RTP, so the end of speech shows only as packets that stop coming:
 * the wait is one frame longer than the quiet frames, so that packet jitter is not taken for it.
 */
export class RtpToneBot {
  private readonly legs = new Set<Socket>();
  /** Media legs waiting for their StasisStart (Asterisk answers externalMedia before it). */
  private readonly entering = new Map<string, () => void>();

  constructor(
    private readonly ari: PlainAriClient,
    private readonly app: string,
    private readonly options: { replyMs: number; quietFramesBeforeReply: number; echo?: boolean },
  ) {}

  /** Handles one StasisStart of a caller channel. */
  async handle(start: ReceivedEvent): Promise<void> {
    const channel = start.channel as { id: string; name: string };
    if (channel.name.startsWith('UnicastRTP/')) {
      this.entering.get(channel.id)?.();
      return;
    }
    await this.ari.request('POST', `/channels/${channel.id}/answer`);
    const socket = createSocket('udp4');
    this.legs.add(socket);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const mediaId = randomUUID();
    const entered = new Promise<void>((resolve) => this.entering.set(mediaId, resolve));
    const media = await this.ari.request('POST', '/channels/externalMedia', { app: this.app, channelId: mediaId, external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' });
    const remote = { address: media.body.channelvars.UNICASTRTP_LOCAL_ADDRESS as string, port: Number(media.body.channelvars.UNICASTRTP_LOCAL_PORT) };
    const bridge = await this.ari.request('POST', '/bridges', { type: 'mixing' });
    await entered;
    this.entering.delete(mediaId);
    await this.ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${channel.id},${mediaId}` });

    const reply = encodeSamples('ulaw', sineTone(700, this.options.replyMs).filter((_sample, index) => index % 2 === 0), 'big');
    let sequence = 0;
    let speaking: NodeJS.Timeout | undefined;
    let replyTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (speaking) clearInterval(speaking);
      speaking = undefined;
    };
    const speak = () => {
      let frame = 0;
      const send = () => {
        if (frame * 160 >= reply.length) return stop();
        const payload = reply.subarray(frame * 160, (frame + 1) * 160);
        socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: sequence++ & 0xffff, timestamp: sequence * 160, ssrc: 1234, marker: frame === 0, payload }), remote.port, remote.address);
        frame += 1;
      };
      send();
      speaking = setInterval(send, 20);
    };
    socket.on('message', (raw) => {
      const packet = parseRtpPacket(raw);
      if (!packet) return;
      if (this.options.echo) {
        socket.send(buildRtpPacket({ ...packet, ssrc: 1234 }), remote.port, remote.address);
        return;
      }
      if (rms(decodeBytes('ulaw', packet.payload, 'big')) <= 500) return;
      stop();
      clearTimeout(replyTimer);
      replyTimer = setTimeout(speak, (this.options.quietFramesBeforeReply + 1) * 20);
    });
    socket.on('close', () => {
      stop();
      clearTimeout(replyTimer);
    });
  }

  close(): void {
    for (const socket of this.legs) socket.close();
    this.legs.clear();
  }
}
