import { appError, type Logger } from '@avp/shared';
import type { CallHandle, RecordingOutcome, RecordingSide, RecordingSink } from '../domain/calls/call-control.ts';
import type { AriChannels } from './ari-channels.ts';
import { AriError, type AriClient } from './ari-client.ts';
import type { StoredObject, TelephonyRecords } from './ari-records.ts';
import type { AriEvent } from './ari-types.ts';

const sides: RecordingSide[] = ['in', 'out'];

/** How long a side whose snoop is gone may take to report RecordingFinished before its file is fetched anyway. */
const finishGraceMs = 3000;

/** One side of a recording: a snoop on the caller and the live recording on it (both named `recording-<id>-<side>`). */
interface Side {
  name: string;
  state: 'starting' | 'recording' | 'done' | 'failed';
  cause?: string;
  timer?: NodeJS.Timeout;
}

interface Recording {
  id: string;
  callId: string;
  callerChannelId: string;
  sides: Record<RecordingSide, Side>;
  finishing: boolean;
}

/** The snoop channel and live recording name of a recording's side. */
export function recordingSideName(recordingId: string, side: RecordingSide): string {
  return `recording-${recordingId}-${side}`;
}

/**
 * Recordings of calls, each side apart: per direction a Snoop channel on the caller
 * (`POST /channels/{caller}/snoop`, `spy` `in` = what the caller says, `out` = what it hears)
 * that Asterisk records (`POST /channels/{snoop}/record`, WAV). A snoop is an audiohook on the
 * caller's channel: the caller's bridge, an AI session's media leg and transcription snoops are
 * not touched.
 *
 * A recording ends with `POST /recordings/live/{name}/stop` on both sides, or when the caller
 * hangs up (Asterisk ends the snoops, RecordingFinished follows). Then each side's file is
 * fetched (`GET /recordings/stored/{name}/file`) and handed to the sink; once the sink has it,
 * the snoops are hung up and the stored files deleted in Asterisk. Each recording is recorded
 * (a `recording` telephony object) before Asterisk has any of it and forgotten at the end, so
 * a restarted flow-manager adopts a running one or finishes one that ended meanwhile.
 */
export class AriRecordings {
  private readonly recordings = new Map<string, Recording>();
  /** Endings being handled (files fetched, the sink told): awaited on shutdown. */
  private readonly finishing = new Set<Promise<void>>();
  private sink: RecordingSink | undefined;

  constructor(
    private readonly client: AriClient,
    private readonly channels: AriChannels,
    private readonly records: TelephonyRecords,
    private readonly logger: Logger,
    private readonly stasisMs: number,
  ) {}

  /** Where ended recordings go (set when the Stasis app starts). */
  setSink(sink: RecordingSink | undefined): void {
    this.sink = sink;
  }

  isRunning(recordingId: string): boolean {
    return this.recordings.has(recordingId);
  }

  async start(call: CallHandle, recordingId: string): Promise<void> {
    const recording = this.track({ id: recordingId, callId: call.id, callerChannelId: call.channelId }, 'starting');
    // Known before Asterisk reports them, so their StasisStart is never taken for an inbound call.
    for (const side of sides) this.channels.state(recording.sides[side].name).outbound = true;
    await this.records.saveObject(stored(recording));
    try {
      for (const side of sides) {
        await this.client.snoop(call.channelId, { snoopId: recording.sides[side].name, spy: side, appArgs: `recording,${recordingId}` }).catch((error: unknown) => {
          if (error instanceof AriError && error.status === 404) throw appError('INVALID_STATE', 'The call has ended.');
          throw error;
        });
      }
      // A snoop enters the app on a thread of its own; ARI records only channels in the app.
      await Promise.all(sides.map((side) => this.channels.waitForStasis(recording.sides[side].name, this.stasisMs, 'The recording snoop channel')));
      if (this.recordings.get(recordingId) !== recording) throw appError('INVALID_STATE', 'The call has ended.');
      // Both at once: the two files start within a millisecond or so of each other, on one timeline.
      await Promise.all(
        sides.map(async (side) => {
          const name = recording.sides[side].name;
          await this.client.record(name, { name, format: 'wav', ifExists: 'overwrite', beep: false, terminateOn: 'none', maxDurationSeconds: 0, maxSilenceSeconds: 0 });
          if (recording.sides[side].state === 'starting') recording.sides[side].state = 'recording';
        }),
      );
    } catch (error) {
      // Whatever ended meanwhile is not handed over: the recording did not start.
      recording.finishing = true;
      for (const side of sides) clearTimeout(recording.sides[side].timer);
      this.recordings.delete(recordingId);
      await this.removeFromAsterisk(recording);
      await this.records.removeObject(recordingId);
      if (error instanceof AriError && error.status === 404) throw appError('INVALID_STATE', 'The call has ended.');
      throw error;
    }
  }

  /** Asks both sides to stop; false when this process does not run the recording (or the call is another's). */
  async stop(recordingId: string, callId?: string): Promise<boolean> {
    const recording = this.recordings.get(recordingId);
    if (!recording || (callId !== undefined && recording.callId !== callId)) return false;
    for (const side of sides) {
      const { name, state } = recording.sides[side];
      if (state === 'done' || state === 'failed') continue;
      await this.client.stopLiveRecording(name).catch((error: unknown) => {
        // Ended already: its RecordingFinished is on the way, or the snoop is gone (see channelGone).
        if (!(error instanceof AriError && error.status === 404)) throw error;
        this.settleLater(recording, recording.sides[side]);
      });
    }
    return true;
  }

  /** RecordingStarted, RecordingFinished, RecordingFailed of our sides. */
  event(event: AriEvent): void {
    const name = event.recording?.name;
    const found = name ? this.sideNamed(name) : undefined;
    if (!found) return;
    const [recording, side] = found;
    if (event.type === 'RecordingStarted') {
      if (side.state === 'starting') side.state = 'recording';
      return;
    }
    if (event.type === 'RecordingFinished') this.settle(recording, side, 'done');
    else if (event.type === 'RecordingFailed') this.settle(recording, side, 'failed', event.recording?.cause ?? 'Asterisk could not record');
  }

  /**
   * A channel's end. A snoop ends with its target (the caller): its live recording finishes by
   * itself, and a side that does not report it within a few seconds is fetched anyway.
   */
  channelGone(channelId: string): void {
    const found = this.sideNamed(channelId);
    if (found) this.settleLater(found[0], found[1]);
  }

  /**
   * Takes over a running recording a previous process left (a snoop of it is still up); a side
   * whose snoop is gone is taken as finished.
   */
  adopt(object: StoredObject, channelExists: (channelId: string) => boolean): void {
    const recording = this.track({ id: object.id, callId: object.callId ?? '', callerChannelId: object.callerChannelId }, 'recording');
    for (const side of sides) {
      const name = recording.sides[side].name;
      this.channels.state(name).outbound = true;
      this.channels.enteredStasis(name);
      if (!channelExists(name)) this.settleLater(recording, recording.sides[side]);
    }
  }

  /** A recording a previous process left whose snoops are gone: its files are fetched and handed on. */
  finishLeft(object: StoredObject): void {
    const recording = this.track({ id: object.id, callId: object.callId ?? '', callerChannelId: object.callerChannelId }, 'done');
    this.finish(recording);
  }

  /** Resolves once every ending under way has been handed to the sink. */
  async idle(): Promise<void> {
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  private track(base: Pick<Recording, 'id' | 'callId' | 'callerChannelId'>, state: Side['state']): Recording {
    const side = (direction: RecordingSide): Side => ({ name: recordingSideName(base.id, direction), state });
    const recording: Recording = { ...base, sides: { in: side('in'), out: side('out') }, finishing: false };
    this.recordings.set(base.id, recording);
    return recording;
  }

  private sideNamed(name: string): [Recording, Side] | undefined {
    const match = /^recording-(.+)-(in|out)$/.exec(name);
    const recording = match ? this.recordings.get(match[1]!) : undefined;
    return recording ? [recording, recording.sides[match![2] as RecordingSide]] : undefined;
  }

  private settleLater(recording: Recording, side: Side): void {
    if (side.state === 'done' || side.state === 'failed' || side.timer) return;
    side.timer = setTimeout(() => this.settle(recording, side, 'done'), finishGraceMs);
    side.timer.unref();
  }

  private settle(recording: Recording, side: Side, state: 'done' | 'failed', cause?: string): void {
    clearTimeout(side.timer);
    if (side.state === 'done' || side.state === 'failed') return;
    side.state = state;
    side.cause = cause;
    if (sides.every((direction) => ['done', 'failed'].includes(recording.sides[direction].state))) this.finish(recording);
  }

  /** Fetches both files, hands them to the sink, then removes everything in Asterisk (in the background). */
  private finish(recording: Recording): void {
    if (recording.finishing) return;
    recording.finishing = true;
    const work = this.handOver(recording)
      .catch((error: unknown) => this.logger.error({ err: error, recordingId: recording.id }, 'handing over a finished recording failed; a restart tries again'))
      .finally(() => {
        this.finishing.delete(work);
        if (this.recordings.get(recording.id) === recording) this.recordings.delete(recording.id);
      });
    this.finishing.add(work);
  }

  private async handOver(recording: Recording): Promise<void> {
    const outcome: RecordingOutcome = { files: {} };
    const causes: string[] = [];
    for (const side of sides) {
      const { name, cause } = recording.sides[side];
      if (cause) causes.push(`${side}: ${cause}`);
      try {
        outcome.files[side] = await this.client.storedRecordingFile(name);
      } catch (error) {
        if (!(error instanceof AriError && error.status === 404)) throw error;
        causes.push(`${side}: Asterisk stored no file`);
      }
    }
    if (causes.length > 0) outcome.failure = causes.join('; ');
    if (!this.sink) throw new Error('no recording sink is set');
    await this.sink.recordingEnded(recording.id, outcome);
    await this.removeFromAsterisk(recording);
    await this.records.removeObject(recording.id);
  }

  private async removeFromAsterisk(recording: Recording): Promise<void> {
    for (const side of sides) {
      const { name } = recording.sides[side];
      await this.client.hangup(name).catch(() => undefined);
      await this.client.deleteStoredRecording(name).catch(() => undefined);
    }
  }
}

function stored(recording: Recording): StoredObject {
  return {
    id: recording.id,
    kind: 'recording',
    callId: recording.callId,
    callerChannelId: recording.callerChannelId,
    channelIds: sides.map((side) => recording.sides[side].name),
    bridgeId: undefined,
  };
}
