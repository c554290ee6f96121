import { parseArgs } from 'node:util';
import { createLogger } from '@avp/shared';
import type { Caller } from './caller/scripted-caller.ts';
import { startAsteriskSimulator } from './simulator.ts';

const usage = `Scripted caller against the Asterisk simulator.

Starts a simulator, waits for your ARI application to connect, places one inbound call into
it, speaks the given WAV files (each after the previous answer), optionally interrupts the
last answer, records what it heard and prints the caller's measurements as JSON.

Usage: pnpm exec tsx packages/asterisk-simulator/src/cli.ts --app NAME [options]
  --app NAME              Stasis application to call (required)
  --args a,b              StasisStart arguments
  --caller-number N       caller id number (default 1000)
  --play FILE.wav         utterance to speak once answered (repeat for several turns)
  --interrupt FILE.wav    speak this over the last answer, --interrupt-after-ms into it (default 500)
  --dtmf DIGITS           digits to send after the utterances
  --record FILE.wav       write everything the caller heard (16 kHz PCM16)
  --listen-ms N           how long to wait for each answer and at the end (default 5000)
  --loss N --reorder N --jitter-ms N   network faults on the bridged RTP leg (percent, percent, ms)
  --port N --host H --user U --password P   ARI listener (default 8088 127.0.0.1 asterisk asterisk)
  --connect-timeout-ms N  how long to wait for the application to connect (default 60000)`;

const { values } = parseArgs({
  options: {
    app: { type: 'string' },
    args: { type: 'string', default: '' },
    'caller-number': { type: 'string', default: '1000' },
    play: { type: 'string', multiple: true, default: [] },
    interrupt: { type: 'string' },
    'interrupt-after-ms': { type: 'string', default: '500' },
    dtmf: { type: 'string', default: '' },
    record: { type: 'string' },
    'listen-ms': { type: 'string', default: '5000' },
    loss: { type: 'string' },
    reorder: { type: 'string' },
    'jitter-ms': { type: 'string' },
    port: { type: 'string', default: '8088' },
    host: { type: 'string', default: '127.0.0.1' },
    user: { type: 'string', default: 'asterisk' },
    password: { type: 'string', default: 'asterisk' },
    'connect-timeout-ms': { type: 'string', default: '60000' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || !values.app) {
  process.stdout.write(`${usage}\n`);
  process.exit(values.help ? 0 : 64);
}

const listenMs = Number(values['listen-ms']);
const logger = createLogger({ name: 'scripted-caller', level: process.env.LOG_LEVEL ?? 'info' });
const simulator = await startAsteriskSimulator({
  ariPort: Number(values.port),
  host: values.host,
  ariUser: values.user,
  ariPassword: values.password,
  logger,
});
logger.info({ ari: `${simulator.url}/ari`, app: values.app }, 'waiting for the application to connect');

let caller: Caller | undefined;
try {
  await simulator.waitForApp(values.app, Number(values['connect-timeout-ms']));
  caller = simulator.placeCall({ app: values.app, args: values.args ? values.args.split(',') : [], callerNumber: values['caller-number'] });
  await caller.waitForAnswer(listenMs);
  const faults = { lossPercent: num(values.loss), reorderPercent: num(values.reorder), jitterMs: num(values['jitter-ms']) };
  if (Object.values(faults).some((value) => value !== undefined)) {
    await waitForMediaLeg(caller, listenMs);
    caller.injectFaults(faults);
  }
  for (const [index, file] of values.play.entries()) {
    await caller.play(file);
    await caller.waitForAudio(listenMs).catch(() => logger.warn({ file }, 'no answer heard'));
    // Let each answer finish before the next turn, except the one to be interrupted.
    const interrupted = values.interrupt !== undefined && index === values.play.length - 1;
    if (!interrupted) await caller.waitForSilence(listenMs * 4).catch(() => logger.warn({ file }, 'answer did not end'));
  }
  if (values.interrupt) {
    await new Promise((resolve) => setTimeout(resolve, Number(values['interrupt-after-ms'])));
    await caller.interrupt(values.interrupt);
  }
  for (const digit of values.dtmf) await caller.sendDtmf(digit);
  await new Promise((resolve) => setTimeout(resolve, listenMs));
} catch (error) {
  logger.error({ err: error }, 'call failed');
  process.exitCode = 1;
} finally {
  if (caller) {
    if (values.record) await caller.saveRecording(values.record);
    process.stdout.write(
      `${JSON.stringify(
        {
          channel: caller.id,
          responseLatenciesMs: caller.responseLatenciesMs.map(Math.round),
          bargeInLatenciesMs: caller.bargeInLatenciesMs.map(Math.round),
          heardSegments: caller.heardSegments.map((segment) => ({ startMs: Math.round(segment.startMs), endMs: Math.round(segment.endMs) })),
          dtmfHeard: caller.dtmfHeard,
          hungUpByFarSide: caller.ended,
        },
        null,
        2,
      )}\n`,
    );
    caller.hangup();
  }
  await simulator.close();
}

function num(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

async function waitForMediaLeg(call: Caller, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (call.injectFaults(undefined) === 0) {
    if (Date.now() > deadline) throw new Error('no RTP media leg was bridged with the call');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
