import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBytes, encodeSamples, rms } from '../media/codecs.ts';
import { buildRtpPacket, parseRtpPacket } from '../media/rtp-packet.ts';
import { parseWav, sineTone, writeWavFile } from '../media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from '../simulator.ts';
import { PlainAriClient, type EventStream } from '../testing/plain-ari-client.ts';
import type { Caller } from './scripted-caller.ts';

/**
 * A tiny RTP "bot" standing in for the pipeline: it listens to the caller through an
 * externalMedia leg and answers with a tone once the caller has gone quiet, stopping its
 * tone as soon as it hears the caller again (barge-in).
 */
class ToneBot {
  private remote: { address: string; port: number } | undefined;
  private speaking: NodeJS.Timeout | undefined;
  private sequence = 0;
  private heardSpeech = false;
  private quietFrames = 0;
  constructor(
    readonly socket: Socket,
    private readonly replyFrames: number,
  ) {
    socket.on('message', (raw) => {
      const packet = parseRtpPacket(raw);
      if (!packet) return;
      const loud = rms(decodeBytes('ulaw', packet.payload, 'big')) > 1000;
      if (loud) {
        this.heardSpeech = true;
        this.quietFrames = 0;
        this.stop();
      } else if (this.heardSpeech && (this.quietFrames += 1) === 10) {
        this.heardSpeech = false;
        this.reply();
      }
    });
  }
  connect(address: string, port: number): void {
    this.remote = { address, port };
  }
  private reply(): void {
    const tone = encodeSamples('ulaw', sineTone(700, this.replyFrames * 20).filter((_sample, index) => index % 2 === 0), 'big');
    let frame = 0;
    this.speaking = setInterval(() => {
      if (!this.remote || frame >= this.replyFrames) return this.stop();
      const payload = tone.subarray(frame * 160, (frame + 1) * 160);
      this.socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: this.sequence++, timestamp: this.sequence * 160, ssrc: 77, marker: frame === 0, payload }), this.remote.port, this.remote.address);
      frame += 1;
    }, 20);
  }
  stop(): void {
    if (this.speaking) clearInterval(this.speaking);
    this.speaking = undefined;
  }
}

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;
let socket: Socket;
let directory: string;

beforeEach(async () => {
  simulator = await startAsteriskSimulator();
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('bot');
  socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  directory = await mkdtemp(join(tmpdir(), 'caller-'));
});

afterEach(async () => {
  socket.close();
  events.close();
  await simulator.close();
  await rm(directory, { recursive: true, force: true });
});

async function callWithBot(replyFrames: number): Promise<{ caller: Caller; bot: ToneBot }> {
  const bot = new ToneBot(socket, replyFrames);
  const caller = simulator.placeCall({ app: 'bot' });
  await ari.request('POST', `/channels/${caller.id}/answer`);
  const media = await ari.request('POST', '/channels/externalMedia', { app: 'bot', external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' });
  bot.connect(media.body.channelvars.UNICASTRTP_LOCAL_ADDRESS as string, Number(media.body.channelvars.UNICASTRTP_LOCAL_PORT));
  const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
  await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${caller.id},${media.body.id}` });
  return { caller, bot };
}

describe('scripted caller', () => {
  it('measures end of its speech to first audio heard, and records what it heard to WAV', async () => {
    const { caller, bot } = await callWithBot(10);
    const wavPath = join(directory, 'question.wav');
    await writeWavFile(wavPath, sineTone(300, 200), 16_000);
    await caller.play(wavPath);
    await caller.waitForAudio();
    await caller.waitForSilence();
    bot.stop();
    expect(caller.responseLatenciesMs).toHaveLength(1);
    expect(caller.responseLatenciesMs[0]).toBeGreaterThan(0);
    const out = join(directory, 'heard.wav');
    await caller.saveRecording(out);
    const heard = parseWav(await readFile(out));
    expect(heard.sampleRate).toBe(16_000);
    expect(rms(heard.samples)).toBeGreaterThan(100);

    // Both directions on one timeline: the tone it said (left) comes before the reply it heard (right).
    const spoken = caller.spokenRecording();
    const firstLoud = (samples: Int16Array) => samples.findIndex((sample) => Math.abs(sample) > 1000);
    expect(firstLoud(spoken)).toBeGreaterThanOrEqual(0);
    expect(firstLoud(spoken)).toBeLessThan(firstLoud(caller.recording()));
    const stereo = caller.conversationWav();
    expect(stereo.readUInt16LE(22)).toBe(2);
    expect((stereo.length - 44) / 4).toBe(Math.max(spoken.length, caller.recording().length));
  });

  it('measures start of an interruption to the moment heard audio stops', async () => {
    const { caller, bot } = await callWithBot(150);
    await caller.play(sineTone(300, 200));
    await caller.waitForAudio();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await caller.interrupt(sineTone(300, 300));
    await caller.waitForSilence();
    bot.stop();
    expect(caller.bargeInLatenciesMs).toHaveLength(1);
    expect(caller.bargeInLatenciesMs[0]).toBeGreaterThan(0);
    // The bot's 3 s reply was cut short by the interruption.
    expect((caller.heardSegments[0]?.endMs ?? 0) - (caller.heardSegments[0]?.startMs ?? 0)).toBeLessThan(2000);
  });

  it('answers originated calls as the called party and hangs up from its side', async () => {
    const outbound = simulator.nextOutboundCall();
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/bob@trunk', app: 'bot' });
    const called = await outbound;
    expect(called.id).toBe(created.body.id);
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === called.id);
    called.hangup();
    expect(await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === called.id)).toMatchObject({ cause: 16 });
  });

  it('can leave an originated call ringing and then reject it as busy', async () => {
    await simulator.close();
    simulator = await startAsteriskSimulator({ autoAnswerOriginated: false });
    ari = new PlainAriClient(simulator.url);
    events.close();
    events = await ari.events('bot');
    const outbound = simulator.nextOutboundCall();
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/carol', app: 'bot' });
    const called = await outbound;
    called.hangup(17);
    const dial = await events.next('Dial', (event) => event.dialstatus !== '');
    expect(dial.dialstatus).toBe('BUSY');
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(events.typesFor(created.body.id as string)).not.toContain('StasisStart');
  });
});
