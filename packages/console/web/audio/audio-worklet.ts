/**
 * The Talk page's AudioWorklet module, served as a file of the console's own origin (the
 * Content-Security-Policy allows no other): `pcm-capture` turns the microphone into 20 ms
 * frames of 16 kHz PCM16 posted to the page, `pcm-player` plays the AI's speech the page posts
 * to it, drops it at once on `{type: "clear"}`, and reports what it played.
 */
import { FrameAccumulator, PlaybackQueue, pcm16ToFloat, rootMeanSquare } from './pcm.ts';

// The AudioWorkletGlobalScope's names (TypeScript's DOM library does not describe that scope).
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly frames = new FrameAccumulator();

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel) for (const frame of this.frames.push(channel)) this.port.postMessage(frame, [frame]);
    return true;
  }
}

/** How often (in samples) the player tells the page what it played. */
const reportEvery = Math.round(sampleRate / 10);

class PlayerProcessor extends AudioWorkletProcessor {
  private readonly queue = new PlaybackQueue();
  private sinceReport = 0;
  private peakRms = 0;
  private clears = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<ArrayBuffer | { type: string }>) => {
      if (event.data instanceof ArrayBuffer) this.queue.push(pcm16ToFloat(event.data));
      else if (event.data.type === 'clear') {
        this.queue.clear();
        this.clears += 1;
        this.report();
      }
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0];
    const first = output?.[0];
    if (!output || !first) return true;
    const written = this.queue.read(first);
    for (const channel of output.slice(1)) channel.set(first);
    if (written > 0) this.peakRms = Math.max(this.peakRms, rootMeanSquare(first.subarray(0, written)));
    this.sinceReport += first.length;
    if (this.sinceReport >= reportEvery) this.report();
    return true;
  }

  private report(): void {
    this.sinceReport = 0;
    this.port.postMessage({ type: 'played', played: this.queue.played, queued: this.queue.queuedSamples, peakRms: this.peakRms, clears: this.clears });
  }
}

registerProcessor('pcm-capture', CaptureProcessor);
registerProcessor('pcm-player', PlayerProcessor);
