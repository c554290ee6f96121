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
import type { Caller, CallerOptions } from './scripted-caller.ts';

/**
 * A tiny RTP "bot" standing in for the pipeline: it listens to the caller through an
 * externalMedia leg and answers with a tone once the caller has gone quiet (no loud packet
 * for 200 ms: a silent caller sends no RTP at all), stopping its tone as soon as it hears the
 * caller again (barge-in).
 */
class ToneBot {
  private remote: { address: string; port: number } | undefined;
  private speaking: NodeJS.Timeout | undefined;
  private replyTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  constructor(
    readonly socket: Socket,
    private readonly replyFrames: number,
  ) {
    socket.on('message', (raw) => {
      const packet = parseRtpPacket(raw);
      if (!packet || rms(decodeBytes('ulaw', packet.payload, 'big')) <= 1000) return;
      this.stop();
      clearTimeout(this.replyTimer);
      this.replyTimer = setTimeout(() => this.reply(), 200);
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
  close(): void {
    this.stop();
    clearTimeout(this.replyTimer);
  }
}

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;
let socket: Socket;
let directory: string;
let bots: ToneBot[];

beforeEach(async () => {
  simulator = await startAsteriskSimulator();
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('bot');
  socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  directory = await mkdtemp(join(tmpdir(), 'caller-'));
  bots = [];
});

afterEach(async () => {
  for (const bot of bots) bot.close();
  socket.close();
  events.close();
  await simulator.close();
  await rm(directory, { recursive: true, force: true });
});

/** A caller bridged with an RTP leg to the test socket (bridged once the leg is in Stasis, as on Asterisk). */
async function bridgedCaller(callerOptions?: CallerOptions): Promise<{ caller: Caller; remote: { address: string; port: number } }> {
  const caller = simulator.placeCall({ app: 'bot', callerOptions });
  await ari.request('POST', `/channels/${caller.id}/answer`);
  const media = await ari.request('POST', '/channels/externalMedia', { app: 'bot', external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' });
  await events.next('StasisStart', (event) => (event.channel as { id: string }).id === media.body.id);
  const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
  await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${caller.id},${media.body.id}` });
  return { caller, remote: { address: media.body.channelvars.UNICASTRTP_LOCAL_ADDRESS as string, port: Number(media.body.channelvars.UNICASTRTP_LOCAL_PORT) } };
}

async function callWithBot(replyFrames: number): Promise<{ caller: Caller; bot: ToneBot }> {
  const bot = new ToneBot(socket, replyFrames);
  bots.push(bot);
  const { caller, remote } = await bridgedCaller();
  bot.connect(remote.address, remote.port);
  return { caller, bot };
}

/** Payload sizes of the RTP packets the test socket receives. */
function packetSizes(): number[] {
  const sizes: number[] = [];
  socket.on('message', (raw) => sizes.push(parseRtpPacket(raw)?.payload.length ?? -1));
  return sizes;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  it('sends no RTP while silent, and ends what it says with a short packet of the real samples', async () => {
    const sizes = packetSizes();
    const { caller } = await bridgedCaller();
    await pause(200);
    expect(sizes).toEqual([]);
    // 250 ms: 12 whole frames and 10 ms more (80 bytes of u-law).
    await caller.play(sineTone(300, 250));
    await pause(200);
    expect(sizes).toEqual([...Array<number>(12).fill(160), 80]);
  });

  it('sends silence frames while quiet with sendSilence, like a phone sending continuous RTP', async () => {
    const sizes = packetSizes();
    await bridgedCaller({ sendSilence: true });
    await pause(300);
    expect(sizes.length).toBeGreaterThanOrEqual(8);
    expect(new Set(sizes)).toEqual(new Set([160]));
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
    await restartWithoutAutoAnswer();
    const outbound = simulator.nextOutboundCall();
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/carol', app: 'bot' });
    const called = await outbound;
    called.hangup(17);
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(events.typesFor(created.body.id as string)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelHangupRequest', 'Dial', 'ChannelDestroyed']);
    expect(events.all.filter((event) => event.type === 'Dial').map((event) => event.dialstatus)).toEqual(['', 'RINGING', 'BUSY']);
    expect(events.all.find((event) => event.type === 'ChannelHangupRequest')).toMatchObject({ cause: 17 });
  });

  it('gives up on an originated call nobody answers within its timeout: ChannelDestroyed (cause 19) and nothing before it', async () => {
    await restartWithoutAutoAnswer();
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/frank', app: 'bot', timeout: 1 });
    expect(await events.next('ChannelDestroyed', () => true, 3000)).toMatchObject({ cause: 19, cause_txt: 'User alerting, no answer' });
    expect(events.typesFor(created.body.id as string)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelDestroyed']);
  });
});

async function restartWithoutAutoAnswer(): Promise<void> {
  await simulator.close();
  simulator = await startAsteriskSimulator({ autoAnswerOriginated: false });
  ari = new PlainAriClient(simulator.url);
  events.close();
  events = await ari.events('bot');
}
