import { createSocket, type Socket } from 'node:dgram';
import { decodeBytes, encodeSamples, rms } from '../media/codecs.ts';
import { buildRtpPacket, parseRtpPacket } from '../media/rtp-packet.ts';
import { sineTone } from '../media/wav.ts';
import type { PlainAriClient, ReceivedEvent } from '../testing/plain-ari-client.ts';

/**
 * A minimal ARI voice app for benchmarks and demos: answers each call, bridges it with an
 * externalMedia u-law RTP leg, and replies with a tone `quietFramesBeforeReply` frames after
 * the caller stops talking; the tone stops the moment the caller talks again (barge-in).
 */
export class RtpToneBot {
  private readonly legs = new Set<Socket>();

  constructor(
    private readonly ari: PlainAriClient,
    private readonly app: string,
    private readonly options: { replyMs: number; quietFramesBeforeReply: number; echo?: boolean },
  ) {}

  /** Handles one StasisStart of a caller channel. */
  async handle(start: ReceivedEvent): Promise<void> {
    const channelId = (start.channel as { id: string; name: string }).id;
    if ((start.channel as { name: string }).name.startsWith('UnicastRTP/')) return;
    await this.ari.request('POST', `/channels/${channelId}/answer`);
    const socket = createSocket('udp4');
    this.legs.add(socket);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const media = await this.ari.request('POST', '/channels/externalMedia', { app: this.app, external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' });
    const remote = { address: media.body.channelvars.UNICASTRTP_LOCAL_ADDRESS as string, port: Number(media.body.channelvars.UNICASTRTP_LOCAL_PORT) };
    const bridge = await this.ari.request('POST', '/bridges', { type: 'mixing' });
    await this.ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${channelId},${media.body.id}` });

    const reply = encodeSamples('ulaw', sineTone(700, this.options.replyMs).filter((_sample, index) => index % 2 === 0), 'big');
    let sequence = 0;
    let speaking: NodeJS.Timeout | undefined;
    let heardSpeech = false;
    let quiet = 0;
    const stop = () => {
      if (speaking) clearInterval(speaking);
      speaking = undefined;
    };
    socket.on('message', (raw) => {
      const packet = parseRtpPacket(raw);
      if (!packet) return;
      if (this.options.echo) {
        socket.send(buildRtpPacket({ ...packet, ssrc: 1234 }), remote.port, remote.address);
        return;
      }
      if (rms(decodeBytes('ulaw', packet.payload, 'big')) > 500) {
        heardSpeech = true;
        quiet = 0;
        stop();
        return;
      }
      if (!heardSpeech || (quiet += 1) < this.options.quietFramesBeforeReply) return;
      heardSpeech = false;
      let frame = 0;
      const send = () => {
        if (frame * 160 >= reply.length) return stop();
        const payload = reply.subarray(frame * 160, (frame + 1) * 160);
        socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: sequence++ & 0xffff, timestamp: sequence * 160, ssrc: 1234, marker: frame === 0, payload }), remote.port, remote.address);
        frame += 1;
      };
      send();
      speaking = setInterval(send, 20);
    });
    socket.on('close', stop);
  }

  close(): void {
    for (const socket of this.legs) socket.close();
    this.legs.clear();
  }
}
