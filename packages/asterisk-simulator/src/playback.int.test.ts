import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Caller } from './caller/scripted-caller.ts';
import { buildWav, sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator, type AsteriskSimulatorOptions } from './simulator.ts';
import { PlainAriClient, type EventStream, type ReceivedEvent } from './testing/plain-ari-client.ts';

const narrowTone = buildWav(sineTone(440, 300).filter((_sample, index) => index % 2 === 0), 8000);
const wideTone = buildWav(sineTone(440, 300), 16_000);

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;
let server: Server;
let base: string;
let requested: string[];

/** A media server: audio/wav 8 kHz by default; the first path segment picks a variant. */
beforeEach(async () => {
  requested = [];
  server = createServer((request, response) => {
    const url = request.url ?? '/';
    requested.push(url);
    if (url.startsWith('/missing')) response.writeHead(404).end();
    else if (url.startsWith('/text')) response.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    else if (url.startsWith('/wide')) response.writeHead(200, { 'content-type': 'audio/wav' }).end(wideTone);
    else if (url.startsWith('/raw')) response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(url.includes('.wav16') ? wideTone : narrowTone);
    else response.writeHead(200, { 'content-type': 'audio/wav' }).end(narrowTone);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterEach(async () => {
  events.close();
  await simulator.close();
  server.close();
});

async function answeredCall(options: AsteriskSimulatorOptions = {}): Promise<Caller> {
  simulator = await startAsteriskSimulator(options);
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('play');
  const caller = simulator.placeCall({ app: 'play' });
  await ari.request('POST', `/channels/${caller.id}/answer`);
  await caller.waitForAnswer();
  return caller;
}

/** `uri` padded with a fragment to exactly `length` characters (HTTP clients never send it). */
function ofLength(uri: string, length: number): string {
  if (uri.length + 1 > length) throw new Error(`${uri} is longer than ${length - 1}`);
  return `${uri}#${'x'.repeat(length - uri.length - 1)}`;
}

async function play(caller: Caller, media: string): Promise<string> {
  const response = await ari.request('POST', `/channels/${caller.id}/play`, { media });
  expect(response).toMatchObject({ status: 201, body: { state: 'queued' } });
  return response.body.id as string;
}

/** The playback's events, in order, as `type:state`. */
function playbackEvents(id: string): string[] {
  return events.all
    .filter((event: ReceivedEvent) => (event.playback as { id?: string } | undefined)?.id === id)
    .map((event) => `${event.type}:${(event.playback as { state: string }).state}`);
}

const finished = (id: string, timeoutMs = 3000) => events.next('PlaybackFinished', (event) => (event.playback as { id: string }).id === id, timeoutMs);

describe('playback of media fetched over HTTP (Asterisk 23.4)', () => {
  it('refuses a bare http:// URI: PlaybackStarted, never PlaybackFinished, and the playback is gone', async () => {
    const caller = await answeredCall();
    const id = await play(caller, `${base}/a.wav`);
    await events.next('PlaybackStarted');
    await expect(finished(id, 300)).rejects.toThrow(/no PlaybackFinished/);
    expect(await ari.request('GET', `/playbacks/${id}`)).toEqual({ status: 404, body: { message: 'Playback not found' } });
    expect(await ari.request('DELETE', `/playbacks/${id}`)).toEqual({ status: 404, body: { message: 'Playback not found' } });
    expect(requested).toEqual([]);
    expect(caller.heardSegments).toEqual([]);
  });

  it('plays sound:http:// like res_http_media_cache: fetched without its fragment, typed by Content-Type', async () => {
    const caller = await answeredCall();
    const heard = caller.waitForAudio();
    const id = await play(caller, `sound:${ofLength(`${base}/prompts/hello.wav`, 80)}`);
    expect((await finished(id)).playback).toMatchObject({ state: 'done' });
    expect(playbackEvents(id)).toEqual(['PlaybackStarted:playing', 'PlaybackFinished:done']);
    expect(requested).toEqual(['/prompts/hello.wav']);
    await heard;
  });

  it("takes the type from the path's extension when the Content-Type says nothing (.wav16: 16 kHz), unless a fragment hides it", async () => {
    const caller = await answeredCall();
    const wide = await play(caller, `sound:${base}/raw/hello.wav16?padding=${'x'.repeat(30)}`);
    expect((await finished(wide)).playback).toMatchObject({ state: 'done' });
    // Asterisk's URI parser keeps a fragment in the path, so there it hides the extension.
    const hidden = await play(caller, `sound:${ofLength(`${base}/raw/hello.wav`, 80)}`);
    expect((await finished(hidden)).playback).toMatchObject({ state: 'failed' });
  });

  it('fails (PlaybackStarted, then PlaybackFinished failed) on 404, a refused connection, an unknown type and a rate the type does not allow', async () => {
    const caller = await answeredCall();
    const refused = 'http://127.0.0.1:1/a.wav';
    for (const uri of [`${base}/missing/a.wav`, refused, `${base}/text/a.txt`, `${base}/wide/a.wav`]) {
      const id = await play(caller, `sound:${ofLength(uri, 80)}`);
      expect((await finished(id)).playback).toMatchObject({ state: 'failed' });
      expect(playbackEvents(id)).toEqual(['PlaybackStarted:playing', 'PlaybackFinished:failed']);
    }
    expect(caller.heardSegments).toEqual([]);
  });

  it("fails a fetched file whose URI is too short for Asterisk 23's cache path buffer", async () => {
    // Default cache directory /var/cache/asterisk (19 characters): the URI needs 28 or more.
    const caller = await answeredCall();
    const tooShort = await play(caller, `sound:${ofLength(`${base}/a`, 27)}`);
    expect((await finished(tooShort)).playback).toMatchObject({ state: 'failed' });
    expect(requested).toEqual(['/a']);
    const longEnough = await play(caller, `sound:${ofLength(`${base}/a`, 28)}`);
    expect((await finished(longEnough)).playback).toMatchObject({ state: 'done' });
  });

  it('takes the cache directory length as an option (the test Asterisk uses 30 characters: 39 or more needed)', async () => {
    const caller = await answeredCall({ mediaCacheDirectoryLength: 30 });
    const tooShort = await play(caller, `sound:${ofLength(`${base}/a`, 38)}`);
    expect((await finished(tooShort)).playback).toMatchObject({ state: 'failed' });
    const longEnough = await play(caller, `sound:${ofLength(`${base}/a`, 39)}`);
    expect((await finished(longEnough)).playback).toMatchObject({ state: 'done' });
  });
});

describe('playback lists and tones', () => {
  it('plays a list item by item: PlaybackStarted for each, PlaybackContinuing between, a failed item does not end it', async () => {
    const caller = await answeredCall();
    simulator.addSound('short', sineTone(500, 100));
    const id = await play(caller, 'sound:short,sound:no-such-sound,sound:short');
    expect((await finished(id)).playback).toMatchObject({ state: 'done', media_uri: 'sound:short' });
    expect(playbackEvents(id)).toEqual([
      'PlaybackStarted:playing',
      'PlaybackContinuing:continuing',
      'PlaybackStarted:playing',
      'PlaybackContinuing:continuing',
      'PlaybackStarted:playing',
      'PlaybackFinished:done',
    ]);
    const continuing = events.all.find((event) => event.type === 'PlaybackContinuing');
    expect(continuing?.playback).toMatchObject({ media_uri: 'sound:short', next_media_uri: 'sound:no-such-sound' });
  });

  it('moves past an unsupported URI in a list without PlaybackContinuing', async () => {
    const caller = await answeredCall();
    simulator.addSound('short', sineTone(500, 100));
    const id = await play(caller, `${base}/a.wav,sound:short`);
    await finished(id);
    expect(playbackEvents(id)).toEqual(['PlaybackStarted:playing', 'PlaybackStarted:playing', 'PlaybackFinished:done']);
  });

  it('plays a tone until the playback is stopped', async () => {
    const caller = await answeredCall();
    const id = await play(caller, 'tone:440');
    await caller.waitForAudio();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(caller.hearingAudio).toBe(true);
    expect(playbackEvents(id)).toEqual(['PlaybackStarted:playing']);
    expect((await ari.request('DELETE', `/playbacks/${id}`)).status).toBe(204);
    expect((await finished(id)).playback).toMatchObject({ state: 'done' });
    await caller.waitForSilence();
  });
});
