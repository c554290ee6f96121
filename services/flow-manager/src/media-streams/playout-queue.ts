/** One entry of the playout queue: a whole frame of audio, or a mark the engine placed after audio. */
type Entry = { kind: 'frame'; frame: Buffer } | { kind: 'mark'; name: string };

/** What one tick takes from the queue: the marks now reached, then (maybe) one frame to play. */
export interface Taken {
  marks: string[];
  frame: Buffer | undefined;
}

/**
 * Audio from an engine on its way to the caller: bytes of any size cut into whole 20 ms frames
 * (a remainder waits for more, and is padded with silence when a mark follows it or nothing
 * else is left), with the engine's marks kept in place between them. Bounded: past `maxFrames`
 * new audio is dropped and counted (`dropped`), never the audio already queued.
 */
export class PlayoutQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  private remainder: Buffer = Buffer.alloc(0);
  private frameCount = 0;
  /** Bytes of audio dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly frameBytes: number,
    private readonly silenceByte: number,
    private readonly maxFrames: number,
  ) {}

  /** Whole frames waiting (a remainder not counted). */
  get frames(): number {
    return this.frameCount;
  }

  get isEmpty(): boolean {
    return this.head === this.entries.length && this.remainder.length === 0;
  }

  pushAudio(bytes: Uint8Array): void {
    let data = this.remainder.length > 0 ? Buffer.concat([this.remainder, bytes]) : Buffer.from(bytes);
    while (data.length >= this.frameBytes) {
      this.pushFrame(data.subarray(0, this.frameBytes));
      data = data.subarray(this.frameBytes);
    }
    this.remainder = Buffer.from(data);
  }

  /** A mark after the audio queued so far (a remainder is padded into a frame first). */
  pushMark(name: string): void {
    this.padRemainder();
    this.entries.push({ kind: 'mark', name });
  }

  /** Pads a remainder into a whole frame (the end of a talkspurt, or STOP_MEDIA_BUFFERING). */
  padRemainder(): void {
    if (this.remainder.length === 0) return;
    const frame = Buffer.alloc(this.frameBytes, this.silenceByte);
    this.remainder.copy(frame);
    this.remainder = Buffer.alloc(0);
    this.pushFrame(frame);
  }

  /** The marks at the head, then one frame; a last remainder is padded when nothing else is left. */
  take(): Taken {
    const marks: string[] = [];
    if (this.head === this.entries.length) this.padRemainder();
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      this.head += 1;
      if (entry.kind === 'mark') {
        marks.push(entry.name);
        continue;
      }
      this.frameCount -= 1;
      this.compact();
      return { marks, frame: entry.frame };
    }
    this.compact();
    return { marks, frame: undefined };
  }

  /** Empties the queue at once; answers the marks that were waiting, in order. */
  clear(): string[] {
    const marks = this.entries.slice(this.head).flatMap((entry) => (entry.kind === 'mark' ? [entry.name] : []));
    this.entries.length = 0;
    this.head = 0;
    this.frameCount = 0;
    this.remainder = Buffer.alloc(0);
    return marks;
  }

  private pushFrame(frame: Buffer): void {
    if (this.frameCount >= this.maxFrames) {
      this.dropped += frame.length;
      return;
    }
    this.entries.push({ kind: 'frame', frame: Buffer.from(frame) });
    this.frameCount += 1;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}
