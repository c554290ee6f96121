/**
 * Barge-in as the caller hears it: from the onset of the caller's speech (the first packet of
 * speech it sends) to the end of the last packet of bot audio it receives (arrival + 20 ms),
 * with the default VAD (Silero in its worker thread, default vad_config) and the default
 * turn_config (an interruption needs 0.5 s of speech, `interruption.min_secs`).
 *
 * Each trial is one call on a real RtpTransport (u-law) in this process, the caller a UDP
 * socket beside it sending 50 packets/s: silence, then, 0.5-1.5 s after the bot's greeting
 * started to arrive, 2 s of the speech fixture from its first spoken frame on. The providers
 * are doubles: the LLM greets with a long text, TTS answers at once (10 ms of audio per
 * character), and STT reports the caller's words as a streaming recogniser would, an interim
 * transcript 300 ms after the onset.
 *
 *   pnpm tsx bench/pipeline/bargein-heard.ts [trials=10]
 *
 * BENCH_JSON keys: bargein_heard_p50_ms, bargein_heard_p95_ms, bargein_heard_max_ms, and the
 * onset -> barge-in decision part (bargein_decided_p50_ms).
 */
import { createSocket } from 'node:dgram';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FRAME_SAMPLES } from '../../services/pipeline-manager/src/media/audio-format.ts';
import { g711Codec } from '../../services/pipeline-manager/src/media/g711.ts';
import { createRtpTransport } from '../../services/pipeline-manager/src/media/rtp-transport.ts';
import { buildRtpPacket, parseRtpPacket } from '../../services/pipeline-manager/src/media/rtp-packet.ts';
import { SpeexResampler } from '../../services/pipeline-manager/src/media/speex-resampler.ts';
import { readPcmWav } from '../../services/pipeline-manager/src/media/testing/wav.ts';
import { sharedSileroBatcher } from '../../services/pipeline-manager/src/media/vad/silero-batcher.ts';
import { createVoiceActivityDetector } from '../../services/pipeline-manager/src/media/vad/voice-activity-detector.ts';
import { Conversation, type ConversationEvent } from '../../services/pipeline-manager/src/pipeline/conversation.ts';
import { FakeLlm, FakeStt, FakeTts, words } from '../../services/pipeline-manager/src/pipeline/testing/fakes.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const trials = Number(process.argv[2] ?? 10);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// The caller's speech: the fixture at 8 kHz u-law, from its first spoken 20 ms frame on.
const speech = readPcmWav(fileURLToPath(new URL('../../services/pipeline-manager/src/media/fixtures/speech-16k.wav', import.meta.url)));
const down = await SpeexResampler.create(16_000, 8000, 10);
const narrow = new Int16Array(Math.floor(speech.samples.length / 2));
for (let offset = 0; offset + FRAME_SAMPLES <= speech.samples.length; offset += FRAME_SAMPLES) {
  down.process(speech.samples.subarray(offset, offset + FRAME_SAMPLES), narrow.subarray(offset / 2, offset / 2 + 160));
}
down.destroy();
const rms = (from: number) => Math.sqrt(narrow.subarray(from, from + 160).reduce((sum, value) => sum + value * value, 0) / 160);
let onsetSample = 0;
while (onsetSample + 160 <= narrow.length && rms(onsetSample) < 500) onsetSample += 160;
const spoken = new Uint8Array(100 * 160);
g711Codec('ulaw').encode(narrow.subarray(onsetSample, onsetSample + spoken.length), spoken);
const SILENCE = 0xff;

const greeting = 'Thank you for calling the Riverside dental clinic. We are open from nine to six on weekdays and from ten to two on Saturdays. '.repeat(4);

interface Trial {
  heardMs: number;
  decidedMs: number | undefined;
  /** The conversation's classification of the caller's sound (`interruption` events). */
  kinds: string[];
}

async function trial(): Promise<Trial> {
  const caller = createSocket('udp4');
  await new Promise<void>((resolve) => caller.bind(0, '127.0.0.1', () => resolve()));
  const transport = await createRtpTransport({ codec: 'ulaw', remote: { address: '127.0.0.1', port: caller.address().port } });
  let firstBotAt: number | undefined;
  let lastBotAt = 0;
  caller.on('message', (message) => {
    const packet = parseRtpPacket(message);
    if (typeof packet === 'string' || packet.payload.every((byte) => byte === SILENCE)) return;
    const now = performance.now();
    firstBotAt ??= now;
    lastBotAt = now;
  });
  const vad = await createVoiceActivityDetector({ engine: 'silero' });
  const stt = new FakeStt();
  const bargeIns: Array<Extract<ConversationEvent, { type: 'barge_in' }>> = [];
  const kinds: string[] = [];
  const conversation = new Conversation({
    transport,
    vad,
    stt,
    llm: new FakeLlm([words(greeting), words('Of course, go ahead.')]),
    tts: new FakeTts(10, 0),
    language: 'en-US',
    voiceId: '',
    messages: [{ role: 'system', content: 'You are a receptionist.' }],
    tools: [],
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => {
      if (event.type === 'barge_in') bargeIns.push(event);
      if (event.type === 'interruption') kinds.push(event.kind);
    },
  });
  // The caller's phone: 50 packets/s, silence until it speaks.
  const local = transport.localAddress();
  let sequenceNumber = 1;
  /** Index of the caller's first packet of speech (-1: not speaking yet). */
  let speakingFrom = -1;
  let onsetAt: number | undefined;
  const started = performance.now();
  let sent = 0;
  const sendNext = () => {
    let payload = new Uint8Array(160).fill(SILENCE);
    if (speakingFrom >= 0 && sent >= speakingFrom && sent < speakingFrom + 100) {
      payload = spoken.subarray((sent - speakingFrom) * 160, (sent - speakingFrom + 1) * 160);
      if (sent === speakingFrom) onsetAt = performance.now();
    }
    caller.send(buildRtpPacket({ payloadType: 0, marker: false, sequenceNumber, timestamp: sent * 160, ssrc: 0x1234 }, payload), local.port, local.address);
    sequenceNumber = (sequenceNumber + 1) & 0xffff;
    sent += 1;
  };
  const phone = setInterval(() => {
    while (started + sent * 20 <= performance.now()) sendNext();
  }, 5);
  await conversation.start();
  while (firstBotAt === undefined) await sleep(10);
  await sleep(500 + Math.random() * 1000);
  speakingFrom = Math.ceil((performance.now() - started) / 20);
  while (onsetAt === undefined) await sleep(5);
  const onset = onsetAt;
  setTimeout(() => stt.session?.emit({ type: 'interim', text: 'sorry could you' }), 300);
  // Done once the bot has been silent for a second and a half after the onset.
  while (performance.now() - Math.max(lastBotAt, onset) < 1500) await sleep(50);
  stt.session?.emit({ type: 'final', text: 'sorry could you repeat the hours' });
  clearInterval(phone);
  await conversation.stop('done');
  await transport.close();
  vad.dispose();
  caller.close();
  const decided = bargeIns[0]?.decidedAt;
  return { heardMs: lastBotAt + 20 - onset, decidedMs: decided === undefined ? undefined : decided - onset, kinds };
}

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]?.toFixed(2)}; node ${process.version}`);
console.log(`${trials} calls, one at a time; Silero VAD with the default vad_config, default turn_config (interruption.min_secs 0.5)`);
const results: Trial[] = [];
for (let index = 0; index < trials; index += 1) {
  const result = await trial();
  results.push(result);
  console.log(`call ${index + 1}: onset -> last bot audio heard ${result.heardMs.toFixed(1)} ms (barge-in decided after ${result.decidedMs?.toFixed(1) ?? 'never'} ms; interruptions: ${result.kinds.join(', ') || 'none'})`);
}
const heard = results.map((result) => result.heardMs);
const decided = results.map((result) => result.decidedMs).filter((value): value is number => value !== undefined);
console.log(`caller's speech onset -> end of the last bot audio it hears: p50 ${percentile(heard, 50).toFixed(1)} ms, p95 ${percentile(heard, 95).toFixed(1)} ms, max ${Math.max(...heard).toFixed(1)} ms`);
console.log(`of which onset -> barge-in decision: p50 ${percentile(decided, 50).toFixed(1)} ms (${decided.length} of ${results.length} calls interrupted)`);
writeBenchJson({
  bargein_heard_p50_ms: percentile(heard, 50),
  bargein_heard_p95_ms: percentile(heard, 95),
  bargein_heard_max_ms: Math.max(...heard),
  bargein_decided_p50_ms: decided.length > 0 ? percentile(decided, 50) : null,
  bargein_heard_interrupted_calls: decided.length,
  bargein_heard_calls: results.length,
});
await sharedSileroBatcher().close();
