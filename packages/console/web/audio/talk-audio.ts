import { SAMPLE_RATE } from './pcm.ts';

/** What the player reported last: samples played, still queued, the loudest 100 ms (RMS) and barge-in clears. */
export interface PlayerReport {
  played: number;
  queued: number;
  peakRms: number;
  clears: number;
}

/**
 * The Talk page's audio: the microphone through the `pcm-capture` worklet (20 ms PCM16 frames to
 * `onFrame`), and the AI's speech through `pcm-player`, on one AudioContext running at 16 kHz
 * (the browser resamples the microphone and the output). The worklet module is the console's
 * own file, named in the page's `<meta name="audio-worklet">`.
 */
export class TalkAudio {
  private constructor(
    private readonly context: AudioContext,
    private readonly stream: MediaStream,
    private readonly capture: AudioWorkletNode,
    private readonly player: AudioWorkletNode,
  ) {}

  /** Asks for the microphone and starts capturing; throws when it is refused. */
  static async start(onFrame: (frame: ArrayBuffer) => void, onReport: (report: PlayerReport) => void): Promise<TalkAudio> {
    const moduleUrl = document.querySelector<HTMLMetaElement>('meta[name="audio-worklet"]')?.content;
    if (!moduleUrl) throw new Error('The page names no audio worklet.');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
    try {
      await context.audioWorklet.addModule(moduleUrl);
      const capture = new AudioWorkletNode(context, 'pcm-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      capture.port.onmessage = (event: MessageEvent<ArrayBuffer>) => onFrame(event.data);
      const player = new AudioWorkletNode(context, 'pcm-player', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
      player.port.onmessage = (event: MessageEvent<PlayerReport & { type: string }>) => {
        if (event.data.type === 'played') onReport(event.data);
      };
      context.createMediaStreamSource(stream).connect(capture);
      // The capture node runs only when pulled: through a muted gain, so the caller does not hear themselves.
      const mute = context.createGain();
      mute.gain.value = 0;
      capture.connect(mute).connect(context.destination);
      player.connect(context.destination);
      if (context.state === 'suspended') await context.resume();
      return new TalkAudio(context, stream, capture, player);
    } catch (error) {
      for (const track of stream.getTracks()) track.stop();
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** The AI's speech: 16 kHz PCM16 little-endian, queued for playing. */
  play(bytes: ArrayBuffer): void {
    this.player.port.postMessage(bytes, [bytes]);
  }

  /** Barge-in: stop playing at once, dropping what is queued. */
  clear(): void {
    this.player.port.postMessage({ type: 'clear' });
  }

  async stop(): Promise<void> {
    for (const track of this.stream.getTracks()) track.stop();
    this.capture.port.onmessage = null;
    this.player.port.onmessage = null;
    await this.context.close().catch(() => undefined);
  }
}
