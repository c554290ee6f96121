import type { AddressInfo } from 'node:net';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { describeModes, scriptedAi, useStack, type Api, type StackMode } from './testing/stack.ts';

/** The web session's AI (offline scripted engine): greets, asks a name, answers with it, then listens until the browser leaves. */
const script = {
  script: [
    { say: 'Hello from the web. What is your name?' },
    { wait: 'answer', into: 'name' },
    { say: 'Nice to meet you, ${name}.' },
    { wait: 'answer', into: 'more' },
    { say: 'Goodbye.' },
  ],
};
const phrases = ['alice', 'goodbye'];
const frameBytes = 640; // 20 ms of 16 kHz mono PCM16

/** A phrase as the browser's microphone gives it: espeak-ng speech at 16 kHz, as little-endian bytes. */
async function speech(phrase: string): Promise<Buffer> {
  const samples = (await resampleClip(await synthesizeWithEspeak(phrase, { voice: 'en-us', wordsPerMinute: 150 }), 16_000)).samples;
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Root mean square of little-endian PCM16 bytes. */
function rms(bytes: Buffer): number {
  let sum = 0;
  const count = Math.floor(bytes.length / 2);
  for (let index = 0; index < count; index += 1) sum += bytes.readInt16LE(index * 2) ** 2;
  return count === 0 ? 0 : Math.sqrt(sum / count);
}

/**
 * A browser stand-in: opens the media socket, sends the microphone as 20 ms frames paced in real
 * time (silence when it has nothing to say), and keeps what it hears and the text messages.
 */
class MicrophoneClient {
  readonly heard: Buffer[] = [];
  readonly messages: { type: string; [key: string]: unknown }[] = [];
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.heard.push(Buffer.from(data as Buffer));
      else this.messages.push(JSON.parse(data.toString()) as { type: string });
    });
    const started = performance.now();
    let sent = 0;
    this.timer = setInterval(() => {
      // Catch up on the real-time clock: timers run late, the microphone never does.
      while (sent * 20 <= performance.now() - started && socket.readyState === WebSocket.OPEN) {
        socket.send(this.queue.shift() ?? Buffer.alloc(frameBytes));
        sent += 1;
      }
    }, 10);
  }

  static connect(url: string): Promise<MicrophoneClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new MicrophoneClient(socket)));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`refused: ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  say(audio: Buffer): void {
    for (let offset = 0; offset < audio.length; offset += frameBytes) {
      const frame = Buffer.alloc(frameBytes);
      audio.copy(frame, 0, offset, Math.min(offset + frameBytes, audio.length));
      this.queue.push(frame);
    }
  }

  /** Bytes heard so far whose 20 ms frames carry sound. */
  loudFrames(): number {
    const all = Buffer.concat(this.heard);
    let loud = 0;
    for (let offset = 0; offset + frameBytes <= all.length; offset += frameBytes) if (rms(all.subarray(offset, offset + frameBytes)) > 300) loud += 1;
    return loud;
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) resolve();
      else {
        this.socket.once('close', () => resolve());
        this.socket.close(1000);
      }
    });
  }
}

/** Whether a WebSocket upgrade to `url` is refused, and with which HTTP status. */
function refusal(url: string): Promise<number | 'opened'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      resolve('opened');
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', reject);
  });
}

/**
 * Web sessions (a browser's microphone) end to end without a browser, on both run modes: a client
 * creates the session through the API, connects the media socket with its one-time token, sends
 * espeak-ng speech as 16 kHz PCM paced at 20 ms, hears the greeting, says a name, gets the
 * answer, and closes; the messages are stored and the AIcall ends. Offline engines throughout
 * (scripted dialogue, espeak-ng, pocketsphinx with the AI's phrases).
 */
function webSessionTests(mode: StackMode): void {
  // Tokens expire after 5 s here (60 s by default), so that the expiry can be watched.
  const stack = useStack({ mode, name: 'web-session', aiManager: { webSessionTokenTtlMs: 5000 } });
  const api: Api = (...args) => stack.api(...args);
  const wsBase = () => `ws://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;

  it('talks with the AI over the media socket: greeting, the caller\'s name recognised, the answer; closing ends the AIcall', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { stt_type: 'local', parameter: { stt_phrases: phrases } }));
    const ticket = (await api('POST', '/v1.0/web_sessions', { ai_id: ai.id })) as { aicall: { id: string; status: string; reference_type: string }; token: string; media_url: string };
    expect(ticket.aicall).toMatchObject({ status: 'initiating', reference_type: 'web_session' });
    expect(ticket.media_url).toBe(`/v1.0/web_sessions/${ticket.aicall.id}/media?token=${ticket.token}`);
    const alice = await speech('alice');

    const client = await MicrophoneClient.connect(`${wsBase()}${ticket.media_url}`);
    try {
      const messages = async () =>
        ((await api('GET', `/v1.0/aimessages?aicall_id=${ticket.aicall.id}&page_size=100`)) as { result: { role: string; content: string }[] }).result
          .filter((message) => message.role !== 'system')
          .reverse();
      await eventually(() => client.messages.some((message) => message.type === 'started'), 'the session started', 20_000, 50);
      // The pipeline reports the session progressing once it runs (through its report queue).
      await eventually(async () => (await api('GET', `/v1.0/aicalls/${ticket.aicall.id}`)).status === 'progressing', 'the AIcall progressing', 10_000, 50);
      // The greeting's audio reaches the client: non-silent 16 kHz PCM, about as long as espeak-ng says it.
      await eventually(() => client.loudFrames() > 25, 'the greeting heard', 20_000, 50);
      // Stored once played to the end: the caller speaks after it.
      await eventually(async () => (await messages()).some((message) => message.role === 'assistant' && message.content.startsWith('Hello from the web')), 'the greeting stored', 20_000, 100);
      const heardBefore = Buffer.concat(client.heard).length;
      client.say(Buffer.concat([alice, Buffer.alloc(16_000 * 2)]));
      await eventually(
        async () => (await messages()).some((message) => message.role === 'assistant' && message.content.startsWith('Nice to meet you, alice')),
        'the answer',
        30_000,
        100,
      );
      const conversation = await messages();
      expect(conversation.map((message) => [message.role, message.content])).toEqual([
        ['assistant', 'Hello from the web. What is your name?'],
        ['user', 'alice'],
        ['assistant', 'Nice to meet you, alice.'],
      ]);
      // The answer was heard as well: sound after the greeting.
      expect(rms(Buffer.concat(client.heard).subarray(heardBefore))).toBeGreaterThan(100);
    } finally {
      await client.close();
    }
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${ticket.aicall.id}`)).status === 'terminated', 'the AIcall terminated', 20_000, 100);
    await eventually(() => stack.pipelineManager.sessions.size === 0, 'the pipeline gone', 10_000, 50);
    // Billed as a call's pipeline is: its speech and recognition are usage of the AIcall (the offline engines' rates are 0).
    const usage = await stack.database
      .forSchema<{ billing_ledger: { aicall_id: string | null; usage_kind: string } }>('ai_manager')
      .selectFrom('billing_ledger')
      .select('usage_kind')
      .where('aicall_id', '=', ticket.aicall.id)
      .execute();
    expect(new Set(usage.map((entry) => entry.usage_kind))).toEqual(new Set(['llm', 'stt', 'tts']));
    // The token was good for one connection.
    expect(await refusal(`${wsBase()}${ticket.media_url}`)).toBe(401);
  }, 120_000);

  it('refuses a wrong token, another session\'s token, and another customer\'s AI', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { stt_type: 'local', parameter: { stt_phrases: phrases } }));
    const ticket = (await api('POST', '/v1.0/web_sessions', { ai_id: ai.id })) as { aicall: { id: string }; token: string };
    expect(await refusal(`${wsBase()}/v1.0/web_sessions/${ticket.aicall.id}/media?token=not-the-token`)).toBe(401);
    expect(await refusal(`${wsBase()}/v1.0/web_sessions/${ticket.aicall.id}/media`)).toBe(401);
    // Another customer's token is bound to that customer's own AIcall.
    const otherKey = await stack.createCustomer('web-session-other');
    const otherApi = stack.apiAs(otherKey);
    const otherAi = await otherApi('POST', '/v1.0/ais', scriptedAi(script));
    const otherTicket = (await otherApi('POST', '/v1.0/web_sessions', { ai_id: otherAi.id })) as { aicall: { id: string }; token: string };
    expect(await refusal(`${wsBase()}/v1.0/web_sessions/${ticket.aicall.id}/media?token=${otherTicket.token}`)).toBe(401);
    // Nor can the other customer start a session with this customer's AI.
    expect((await stack.request('POST', '/v1.0/web_sessions', { authorization: otherKey, body: { ai_id: ai.id } })).status).toBe(404);
    // The refusals used nothing up: the right token still connects (and closing ends the session).
    const client = await MicrophoneClient.connect(`${wsBase()}/v1.0/web_sessions/${ticket.aicall.id}/media?token=${ticket.token}`);
    await eventually(() => client.messages.some((message) => message.type === 'started'), 'the session started', 20_000, 50);
    await client.close();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${ticket.aicall.id}`)).status === 'terminated', 'the AIcall terminated', 20_000, 100);
  }, 60_000);

  it('ends a session whose browser never connects once its token expires, and refuses the token after that', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script));
    const ticket = (await api('POST', '/v1.0/web_sessions', { ai_id: ai.id })) as { aicall: { id: string }; media_url: string; expires_at: string };
    expect(Date.parse(ticket.expires_at) - Date.now()).toBeLessThanOrEqual(5000);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${ticket.aicall.id}`)).status === 'terminated', 'the AIcall terminated', 15_000, 200);
    expect(await refusal(`${wsBase()}${ticket.media_url}`)).toBe(401);
  }, 30_000);

  it('tells the client to stop playing at once when the caller talks over the AI, and answers what was said', async () => {
    const long = {
      script: [
        { say: 'Hello from the web. Let me tell you a rather long story about the weather, the sea, the mountains and the rivers, so please interrupt me whenever you like. What is your name?' },
        { wait: 'answer', into: 'name' },
        { say: 'Nice to meet you, ${name}.' },
        { wait: 'answer', into: 'more' },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', scriptedAi(long, { stt_type: 'local', parameter: { stt_phrases: phrases } }));
    const ticket = (await api('POST', '/v1.0/web_sessions', { ai_id: ai.id })) as { aicall: { id: string }; media_url: string };
    const alice = await speech('alice');
    const client = await MicrophoneClient.connect(`${wsBase()}${ticket.media_url}`);
    try {
      await eventually(() => client.loudFrames() > 25, 'the greeting heard', 20_000, 50);
      client.say(Buffer.concat([alice, Buffer.alloc(16_000 * 2)]));
      await eventually(() => client.messages.some((message) => message.type === 'clear'), 'the clear message', 15_000, 50);
      const stored = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${ticket.aicall.id}&page_size=100`)) as { result: { role: string; content: string }[] }).result;
      await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content.startsWith('Nice to meet you, alice')), 'the answer', 30_000, 100);
      // The greeting was cut short: what is stored of it is what was heard, not the whole text.
      const greeting = (await stored()).find((message) => message.role === 'assistant' && message.content.startsWith('Hello from the web'));
      expect(greeting?.content.length ?? 0).toBeLessThan(long.script[0]!.say!.length);
    } finally {
      await client.close();
    }
  }, 60_000);
}

await describeModes('web sessions: a microphone over a WebSocket', webSessionTests);
