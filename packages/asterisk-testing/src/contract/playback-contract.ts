import { createServer, type Server } from 'node:http';
import { buildWav, RateConverter } from '@avp/asterisk-simulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TelephonyKind } from '../test-telephony.ts';
import { inboundCall, sleep, tone, useContractContext } from './contract-context.ts';

/** An HTTP server with one 8 kHz WAV file (what flow-manager serves for `talk`). */
async function mediaServer(): Promise<{ server: Server; base: string; requests: string[] }> {
  const wav = buildWav(new RateConverter(16_000, 8000).convert(tone(600)), 8000);
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url?.startsWith('/media/')) {
      response.writeHead(200, { 'content-type': 'audio/wav', 'content-length': wav.length });
      response.end(wav);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { server, base: `http://127.0.0.1:${port}`, requests };
}

const padding = '#'.padEnd(80, '0');

/**
 * Playback of media as the platform asks for it, against the simulator and a real Asterisk
 * 23: files fetched over HTTP (only as `sound:http://...`, and only with a URI long enough for
 * Asterisk's cache path), a refused bare URI that never finishes, failures, tones.
 */
export function playbackContract(kind: TelephonyKind): void {
  const contextOf = useContractContext(kind);
  let media: Awaited<ReturnType<typeof mediaServer>>;
  beforeAll(async () => {
    media = await mediaServer();
  });
  afterAll(() => media.server.close());

  async function play(channelId: string, uri: string, waitMs: number) {
    const context = contextOf();
    const playbackId = `contract-playback-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const finished = context.app.waitFor((event) => event.type === 'PlaybackFinished' && event.playback?.id === playbackId, waitMs).catch(() => undefined);
    const started = context.app.waitFor((event) => event.type === 'PlaybackStarted' && event.playback?.id === playbackId, 5000);
    await context.app.request('POST', `/channels/${channelId}/play`, { media: uri, playbackId });
    await started;
    return { playbackId, finished: await finished };
  }

  it('plays a WAV fetched over HTTP as sound:http://... (the fragment is not sent) and reports PlaybackFinished done', async () => {
    const { caller, channelId } = await inboundCall(contextOf());
    const hears = caller.waitForAudio(5000);
    const { finished } = await play(channelId, `sound:${media.base}/media/greeting-${Date.now()}.wav${padding}`, 5000);
    expect(finished?.playback?.state).toBe('done');
    await hears;
    expect(media.requests.at(-1)).toMatch(/^\/media\/greeting-\d+\.wav$/);
    caller.hangup();
  });

  it('refuses a bare http:// URI: PlaybackStarted, and PlaybackFinished never comes', async () => {
    const { caller, channelId } = await inboundCall(contextOf());
    const { finished } = await play(channelId, `${media.base}/media/bare-${Date.now()}.wav`, 1500);
    expect(finished).toBeUndefined();
    caller.hangup();
  });

  it('fails a file that is not there, and a URI too short for the cached copy\'s path, with PlaybackFinished failed', async () => {
    const { caller, channelId } = await inboundCall(contextOf());
    expect((await play(channelId, `sound:${media.base}/missing/${Date.now()}.wav${padding}`, 5000)).finished?.playback?.state).toBe('failed');
    // Asterisk 23 sizes the cache path's buffer by the URI's length (main/file.c).
    expect((await play(channelId, `sound:${media.base}/media/a.wav`, 5000)).finished?.playback?.state).toBe('failed');
    expect((await play(channelId, 'sound:no-such-sound-anywhere', 5000)).finished?.playback?.state).toBe('failed');
    caller.hangup();
  });

  it('plays a tone until it is stopped; stopping it reports PlaybackFinished', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const hears = caller.waitForAudio(5000);
    const playbackId = `contract-tone-${Date.now()}`;
    await context.app.request('POST', `/channels/${channelId}/play`, { media: 'tone:440', playbackId });
    await hears;
    await sleep(300);
    const finished = context.app.waitFor((event) => event.type === 'PlaybackFinished' && event.playback?.id === playbackId, 5000);
    await context.app.request('DELETE', `/playbacks/${playbackId}`);
    await finished;
    await caller.waitForSilence(5000);
    caller.hangup();
  });
}
