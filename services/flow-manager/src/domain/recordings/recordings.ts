import { appError, currentTimestamp, type ListQuery, type ListResponse, type Recording, type RecordingAudio, type RecordingDirection } from '@avp/shared';
import type { CallControl, RecordingOutcome, RecordingSink } from '../calls/call-control.ts';
import { callHandle, findCustomerCall } from '../calls/call-store.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { recordingKey, type RecordingStorage } from './recording-storage.ts';
import {
  findCustomerRecording,
  findRecording,
  insertRecording,
  listRecordings,
  markRecordingDeleted,
  runningRecordingsOfCall,
  toRecording,
  updateRecording,
  type RecordingRow,
} from './recording-store.ts';
import { channelOf, decodeWav, interleaveStereo, stereoLayout, wavHeaderBytes, type MonoPcm } from './wav.ts';

/** The longest window of audio one `audio` request answers. */
export const maxAudioWindowMs = 60_000;

/** Attempts to store a finished file before the recording counts as failed. */
const storeAttempts = 3;

/**
 * Recordings of live calls: started and stopped through the API, the bus or a flow's
 * `recording_start` / `recording_stop`; ended by a stop or the call's hang-up. The telephony
 * side records each side of the call apart and hands both files over at the end
 * (`recordingEnded`): they are joined into one stereo WAV (left: what the caller said; right:
 * what it heard) and stored. Every operation names its customer; another customer's recording
 * or call is a 404 like a missing one.
 */
export class Recordings implements RecordingSink {
  constructor(
    private readonly context: DomainContext,
    private readonly control: CallControl,
    private readonly storage: RecordingStorage,
  ) {}

  /** Starts recording the customer's live call (404 for another's, 409 once it ended). */
  async start(customerId: string, callId: string): Promise<Recording> {
    const call = await findCustomerCall(this.context.db, customerId, callId);
    if (!call) throw notFound('Call');
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    // Recorded before Asterisk is asked, so an end reported at once finds it.
    const row = await insertRecording(this.context.db, { customerId, callId: call.id });
    try {
      await this.control.startRecording(callHandle(call), row.id);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.fail(row.id, `could not start: ${reason}`);
      throw error;
    }
    const recording = toRecording(row);
    await this.context.publish('recording_started', recording);
    return recording;
  }

  /** Asks a recording to stop; it turns `stopping` until its file is stored. Stopping one that ended answers it as it is. */
  async stop(customerId: string, id: string): Promise<Recording> {
    const row = await this.customerRecording(customerId, id);
    if (row.status !== 'recording') return toRecording(row);
    const stopping = await updateRecording(this.context.db, row.id, ['recording'], { status: 'stopping' });
    if (!stopping) return toRecording((await findRecording(this.context.db, row.id))!);
    const call = await findCustomerCall(this.context.db, customerId, row.reference_id);
    const known = call ? await this.control.stopRecording(callHandle(call), row.id).catch(() => false) : false;
    // Nobody records it any more (lost with a process, no telephony): it cannot end by itself.
    if (!known) return toRecording((await this.fail(row.id, 'the recording was lost before it ended')) ?? stopping);
    return toRecording(stopping);
  }

  /** Stops the call's running recordings (`recording_stop`). */
  async stopCall(customerId: string, callId: string): Promise<void> {
    for (const row of await runningRecordingsOfCall(this.context.db, callId)) {
      if (row.customer_id === customerId) await this.stop(customerId, row.id);
    }
  }

  list(customerId: string, page: ListQuery): Promise<ListResponse<Recording>> {
    return listRecordings(this.context.db, customerId, page);
  }

  async get(customerId: string, id: string): Promise<Recording> {
    return toRecording(await this.customerRecording(customerId, id));
  }

  /** Soft-deletes a recording and removes its file; a running one is stopped first. */
  async delete(customerId: string, id: string): Promise<Recording> {
    const row = await this.customerRecording(customerId, id);
    if (row.status === 'recording') await this.stop(customerId, id);
    const deleted = await markRecordingDeleted(this.context.db, row.id);
    await this.storage.delete(recordingKey(row.customer_id, row.id));
    return toRecording(deleted);
  }

  /** The stored stereo WAV (409 while it is recorded or when it failed). */
  async file(customerId: string, id: string): Promise<Buffer> {
    const row = await this.finishedRecording(customerId, id);
    const file = await this.storage.get(recordingKey(row.customer_id, row.id));
    if (!file) throw notFound('Recording file');
    return file;
  }

  /** One side of a stored recording as 16-bit little-endian mono PCM, a window of at most 60 s. */
  async audio(customerId: string, id: string, request: { direction: RecordingDirection; offsetMs: number; lengthMs: number }): Promise<RecordingAudio> {
    const row = await this.finishedRecording(customerId, id);
    const key = recordingKey(row.customer_id, row.id);
    const header = await this.storage.getRange(key, 0, wavHeaderBytes);
    if (!header) throw notFound('Recording file');
    const { sampleRate, frames } = stereoLayout(header);
    const durationMs = Math.floor((frames * 1000) / sampleRate);
    const first = Math.min(frames, Math.floor((request.offsetMs * sampleRate) / 1000));
    const count = Math.min(frames - first, Math.floor((Math.min(request.lengthMs, maxAudioWindowMs) * sampleRate) / 1000));
    const stereo = count > 0 ? ((await this.storage.getRange(key, wavHeaderBytes + first * 4, count * 4)) ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const mono = channelOf(stereo, request.direction === 'in' ? 0 : 1);
    return { sample_rate: sampleRate, offset_ms: Math.floor((first * 1000) / sampleRate), duration_ms: durationMs, audio: mono.toString('base64') };
  }

  /**
   * The telephony side's end of a recording: both sides joined into one stereo WAV and stored,
   * the recording `ended` (or `failed` with the reason). Told again (after a restart), it does
   * nothing more.
   */
  async recordingEnded(recordingId: string, outcome: RecordingOutcome): Promise<void> {
    const row = await findRecording(this.context.db, recordingId);
    if (!row || row.status === 'ended' || row.status === 'failed') return;
    if (row.tm_delete) {
      await this.fail(row.id, 'deleted while it was recorded');
      return;
    }
    const sides = { in: readSide(outcome.files.in), out: readSide(outcome.files.out) };
    const rate = sides.in?.sampleRate ?? sides.out?.sampleRate;
    if (rate === undefined) {
      await this.fail(row.id, outcome.failure ?? 'Asterisk stored no recording');
      return;
    }
    const silent = { sampleRate: rate, samples: new Int16Array(0) };
    let file: Buffer;
    try {
      file = interleaveStereo(sides.in ?? silent, sides.out ?? silent);
    } catch (error) {
      await this.fail(row.id, error instanceof Error ? error.message : String(error));
      return;
    }
    const frames = (file.length - wavHeaderBytes) / 4;
    if (!(await this.store(row, file))) return;
    const ended = await updateRecording(this.context.db, row.id, ['recording', 'stopping'], {
      status: 'ended',
      duration_ms: Math.floor((frames * 1000) / rate),
      tm_end: currentTimestamp(),
    });
    if (ended) await this.context.publish('recording_finished', toRecording(ended));
  }

  private async store(row: RecordingRow, file: Buffer): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.storage.put(recordingKey(row.customer_id, row.id), file);
        return true;
      } catch (error) {
        this.context.logger.warn({ err: error, recordingId: row.id, attempt, storage: this.storage.description }, 'storing a recording failed');
        if (attempt >= storeAttempts) {
          await this.fail(row.id, `could not store the file in ${this.storage.description}`);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  private async fail(id: string, reason: string): Promise<RecordingRow | undefined> {
    const failed = await updateRecording(this.context.db, id, ['recording', 'stopping'], { status: 'failed', failure_reason: reason.slice(0, 1000), tm_end: currentTimestamp() });
    if (failed) {
      this.context.logger.warn({ recordingId: id, reason }, 'recording failed');
      await this.context.publish('recording_finished', toRecording(failed));
    }
    return failed;
  }

  private async customerRecording(customerId: string, id: string): Promise<RecordingRow> {
    const row = await findCustomerRecording(this.context.db, customerId, id);
    if (!row) throw notFound('Recording');
    return row;
  }

  private async finishedRecording(customerId: string, id: string): Promise<RecordingRow> {
    const row = await this.customerRecording(customerId, id);
    if (row.status === 'recording' || row.status === 'stopping') throw appError('INVALID_STATE', 'The recording is still being recorded.');
    if (row.status === 'failed') throw appError('INVALID_STATE', `The recording failed: ${row.failure_reason}`);
    return row;
  }
}

/** A side's file as mono PCM; a file Asterisk left empty or unreadable counts as missing. */
function readSide(file: Buffer | undefined): MonoPcm | undefined {
  if (!file) return undefined;
  try {
    return decodeWav(file);
  } catch {
    return undefined;
  }
}
