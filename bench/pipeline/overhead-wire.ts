/**
 * The pipeline's own overhead up to the wire: from the STT final transcript to the first RTP
 * packet of the answer handed to the socket, at N concurrent calls that all carry media. Each
 * call is a real RtpTransport (u-law, the default continuous stream of 50 packets/s) that a peer
 * process feeds 50 packets/s of speech, running a Conversation with zero-latency provider fakes
 * (the STT final is emitted by the benchmark; the VAD never fires). Each caller pauses 0-300 ms
 * at random before its turn, and the next turn starts once the short answer has played.
 *
 *   pnpm tsx bench/pipeline/overhead-wire.ts [turnsPerCall=10] [concurrent=100]
 *
 * Half the calls (every other one) run with the default (the first frame of a talkspurt is
 * sent at once), the other half with `sendTalkspurtStartAtOnce: false` (it waits for the
 * call's next 20 ms slot, as before), side by side in the same process, so both see the same
 * load and the difference is the wait for the send slot. The in-memory figure of the first
 * half (first frame handed to the transport, from `turn_latency`) is printed beside them.
 * On a loaded machine the p95 is mostly the event loop's lag between the STT final and the
 * conversation seeing it (the same for both halves); the send-slot wait alone (first frame
 * handed to the transport -> its packet on the wire) is printed too.
 * BENCH_JSON keys: pipeline_overhead_wire_p50_ms, pipeline_overhead_wire_p95_ms (at once),
 * pipeline_overhead_wire_next_slot_p50_ms / _p95_ms, pipeline_overhead_wire_queue_p50_ms / _p95_ms,
 * pipeline_overhead_wire_slot_wait_p95_ms, pipeline_overhead_wire_next_slot_wait_p50_ms / _p95_ms.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_SAMPLES } from '../../services/pipeline-manager/src/media/audio-format.ts';
import { g711Codec } from '../../services/pipeline-manager/src/media/g711.ts';
import { PacingScheduler } from '../../services/pipeline-manager/src/media/pacing-scheduler.ts';
import { createRtpTransport, type RtpTransport } from '../../services/pipeline-manager/src/media/rtp-transport.ts';
import { SpeexResampler } from '../../services/pipeline-manager/src/media/speex-resampler.ts';
import { readPcmWav } from '../../services/pipeline-manager/src/media/testing/wav.ts';
import { Conversation, type ConversationEvent } from '../../services/pipeline-manager/src/pipeline/conversation.ts';
import { FakeLlm, FakeStt, FakeTts, words } from '../../services/pipeline-manager/src/pipeline/testing/fakes.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const turnsPerCall = Number(process.argv[2] ?? 10);
const concurrent = Number(process.argv[3] ?? 100);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// u-law speech for the peer to send (the caller's side of every call).
const speech = readPcmWav(fileURLToPath(new URL('../../services/pipeline-manager/src/media/fixtures/speech-16k.wav', import.meta.url)));
const down = await SpeexResampler.create(16_000, 8000, 10);
const narrow = new Int16Array(Math.floor(speech.samples.length / 2));
for (let offset = 0; offset + FRAME_SAMPLES <= speech.samples.length; offset += FRAME_SAMPLES) {
  down.process(speech.samples.subarray(offset, offset + FRAME_SAMPLES), narrow.subarray(offset / 2, offset / 2 + 160));
}
const payloadFile = join(tmpdir(), `overhead-wire-speech-${process.pid}.ulaw`);
const ulaw = new Uint8Array(narrow.length);
g711Codec('ulaw').encode(narrow, ulaw);
writeFileSync(payloadFile, ulaw);

interface CallResult {
  /** STT final emitted -> first answer packet handed to the socket. */
  wire: number[];
  /** The conversation's own figure: STT final seen -> first frame handed to the transport. */
  queue: number[];
  /** First frame handed to the transport -> its packet handed to the socket (the send-slot wait). */
  slotWait: number[];
}

/** One call: `turns` turns; per turn, STT final -> first answer packet sent, and -> first frame queued. */
async function runCall(transport: RtpTransport, firstAudioSent: { waiting?: (sentAtMs: number) => void }): Promise<CallResult> {
  const stt = new FakeStt();
  const latencies: Array<Extract<ConversationEvent, { type: 'turn_latency' }>> = [];
  const conversation = new Conversation({
    transport,
    vad: { process: async () => [] },
    stt,
    llm: new FakeLlm(Array.from({ length: turnsPerCall + 1 }, () => words('Sure, nine to six.'))),
    tts: new FakeTts(10, 0),
    language: 'en-US',
    voiceId: '',
    messages: [{ role: 'system', content: 'You are a helpful receptionist.' }],
    tools: [],
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => {
      if (event.type === 'turn_latency') latencies.push(event);
    },
    turnEnd: 'stt',
    greeting: false,
  });
  await conversation.start();
  const result: CallResult = { wire: [], queue: [], slotWait: [] };
  for (let turn = 0; turn < turnsPerCall; turn += 1) {
    await sleep(Math.random() * 300);
    const sent = new Promise<number>((resolve) => {
      firstAudioSent.waiting = resolve;
    });
    const finalAt = performance.now();
    stt.session?.emit({ type: 'final', text: `Question number ${turn}?` });
    stt.session?.emit({ type: 'endpoint' });
    const sentAt = await sent;
    result.wire.push(sentAt - finalAt);
    // The answer (about 180 ms of audio) plays out before the caller speaks again.
    while (transport.queuedMs() > 0) await sleep(20);
    await sleep(60);
    const latency = latencies[turn];
    if (latency?.firstAudioAt !== undefined && latency.sttFinalAt !== undefined) result.queue.push(latency.firstAudioAt - latency.sttFinalAt);
    // The conversation's clock is performance.now(), as is the transport's.
    if (latency?.firstAudioAt !== undefined) result.slotWait.push(sentAt - latency.firstAudioAt);
  }
  await conversation.stop('done');
  return result;
}

async function round(): Promise<{ atOnce: CallResult; nextSlot: CallResult }> {
  const scheduler = new PacingScheduler();
  const calls: Array<{ transport: RtpTransport; atOnce: boolean; firstAudioSent: { waiting?: (sentAtMs: number) => void } }> = [];
  for (let index = 0; index < concurrent; index += 1) {
    const firstAudioSent: { waiting?: (sentAtMs: number) => void } = {};
    const atOnce = index % 2 === 0;
    const transport = await createRtpTransport({
      codec: 'ulaw',
      scheduler,
      sendTalkspurtStartAtOnce: atOnce,
      onPacketSent: ({ sentAtMs, silence }) => {
        if (silence || !firstAudioSent.waiting) return;
        firstAudioSent.waiting(sentAtMs);
        firstAudioSent.waiting = undefined;
      },
    });
    calls.push({ transport, atOnce, firstAudioSent });
  }
  const config = join(tmpdir(), `overhead-wire-peer-${process.pid}.json`);
  writeFileSync(config, JSON.stringify({ ports: calls.map((call) => call.transport.localAddress().port), seconds: 3600, payloadFile }));
  const peer = spawn(process.execPath, [fileURLToPath(new URL('../media/rtp-load-peer.mjs', import.meta.url)), config], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Replies go to the peer (symmetric RTP) once its first packet latched each call.
  while (calls.some((call) => call.transport.stats().packetsReceived === 0)) await sleep(20);
  const results = await Promise.all(calls.map((call) => runCall(call.transport, call.firstAudioSent)));
  peer.kill();
  for (const call of calls) await call.transport.close();
  scheduler.stop();
  rmSync(config, { force: true });
  const of = (atOnce: boolean): CallResult => {
    const picked = results.filter((_, index) => calls[index]?.atOnce === atOnce);
    return { wire: picked.flatMap((entry) => entry.wire), queue: picked.flatMap((entry) => entry.queue), slotWait: picked.flatMap((entry) => entry.slotWait) };
  };
  return { atOnce: of(true), nextSlot: of(false) };
}

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]?.toFixed(2)}; node ${process.version}`);
console.log(`${concurrent} calls carrying media (50 packets/s in, 50 out each), half sending a talkspurt's first frame at once, half at the next slot; ${turnsPerCall} turns per call`);
const format = (values: number[]) => `p50 ${percentile(values, 50).toFixed(2)} ms, p95 ${percentile(values, 95).toFixed(2)} ms, max ${Math.max(...values).toFixed(2)} ms (${values.length} turns)`;
const { atOnce, nextSlot } = await round();
console.log(`STT final -> first answer packet on the wire (talkspurt start sent at once): ${format(atOnce.wire)}`);
console.log(`STT final -> first answer frame handed to the transport (in memory):        ${format(atOnce.queue)}`);
console.log(`first frame handed to the transport -> its packet on the wire, at once:      ${format(atOnce.slotWait)}`);
console.log(`the same waiting for the next slot:                                        ${format(nextSlot.slotWait)}`);
console.log(`STT final -> first answer packet on the wire (waiting for the next slot):   ${format(nextSlot.wire)}`);
writeBenchJson({
  pipeline_overhead_wire_calls: concurrent,
  pipeline_overhead_wire_p50_ms: percentile(atOnce.wire, 50),
  pipeline_overhead_wire_p95_ms: percentile(atOnce.wire, 95),
  pipeline_overhead_wire_max_ms: Math.max(...atOnce.wire),
  pipeline_overhead_wire_queue_p50_ms: percentile(atOnce.queue, 50),
  pipeline_overhead_wire_queue_p95_ms: percentile(atOnce.queue, 95),
  pipeline_overhead_wire_next_slot_p50_ms: percentile(nextSlot.wire, 50),
  pipeline_overhead_wire_next_slot_p95_ms: percentile(nextSlot.wire, 95),
  pipeline_overhead_wire_slot_wait_p95_ms: percentile(atOnce.slotWait, 95),
  pipeline_overhead_wire_next_slot_wait_p50_ms: percentile(nextSlot.slotWait, 50),
  pipeline_overhead_wire_next_slot_wait_p95_ms: percentile(nextSlot.slotWait, 95),
});
rmSync(payloadFile, { force: true });
