import type { Channel } from '../model/channel.ts';
import { RECORDING_SAMPLE_RATES, type IfExists, type RecordingFormat, type RecordingOptions } from '../model/recording.ts';
import type { RecordingOperation } from '../model/recordings.ts';
import type { SimulatorContext } from '../simulator-context.ts';
import { AriError, type Parameters, type Router } from './router.ts';

/**
 * POST /channels/{id}/record and /ari/recordings (live and stored), with the checks, codes and
 * texts of res/ari/resource_channels.c and resource_recordings.c in their order.
 */
export function registerRecordingRoutes(router: Router, context: SimulatorContext): void {
  const { recordings } = context.asterisk;

  router.add('POST', '/channels/{channelId}/record', (params, parameters) => {
    const maxDurationSeconds = integer(parameters, 'maxDurationSeconds');
    const maxSilenceSeconds = integer(parameters, 'maxSilenceSeconds');
    if (maxDurationSeconds < 0) throw new AriError(400, 'max_duration_seconds cannot be negative');
    if (maxSilenceSeconds < 0) throw new AriError(400, 'max_silence_seconds cannot be negative');
    const channel = stasisChannel(context, params.channelId);
    const terminateOn = parseTerminateOn(parameters.string('terminateOn'));
    const ifExists = parseIfExists(parameters.string('ifExists'));
    const format = parameters.string('format') ?? '';
    // format_wav is the format module recorded here; a format name is matched case-sensitively.
    if (!(format in RECORDING_SAMPLE_RATES)) throw new AriError(422, 'specified format is unknown on this system');
    const name = parameters.string('name') ?? '';
    // Asterisk has no check of its own for a missing name: the recording layer refuses it (EINVAL).
    if (name === '') throw new AriError(500, 'Error parsing request');
    const options: RecordingOptions = {
      name,
      format: format as RecordingFormat,
      maxDurationSeconds,
      maxSilenceSeconds,
      ifExists,
      terminateOn,
      beep: parameters.boolean('beep', false),
    };
    if (recordings.conflicts(options)) throw new AriError(409, `Recording '${name}' already exists and can not be overwritten`);
    const recording = recordings.create(channel, options);
    return {
      status: 201,
      body: recording.toJson(),
      headers: { location: `/ari/recordings/live/${encodeURIComponent(name)}` },
      // The record command runs on the channel's Stasis thread, after the response.
      afterResponse: () => recordings.runNext(channel),
    };
  });

  const stored = (name: string | undefined) => {
    const file = name === undefined ? undefined : recordings.stored.get(name);
    if (!file) throw new AriError(404, 'Recording not found');
    return file;
  };
  router.add('GET', '/recordings/stored', () => ({
    status: 200,
    body: [...recordings.stored.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((file) => file.toJson()),
  }));
  router.add('GET', '/recordings/stored/{recordingName}', (params) => ({ status: 200, body: stored(params.recordingName).toJson() }));
  router.add('DELETE', '/recordings/stored/{recordingName}', (params) => {
    recordings.stored.delete(stored(params.recordingName).name);
    return { status: 204 };
  });
  // Content-Type is `<media type>/<extension>`, as resource_recordings.c builds it.
  router.add('GET', '/recordings/stored/{recordingName}/file', (params) => {
    const file = stored(params.recordingName);
    return { status: 200, file: { contentType: `audio/${file.format}`, data: file.file() } };
  });
  router.add('POST', '/recordings/stored/{recordingName}/copy', (params, parameters) => {
    const source = stored(params.recordingName);
    const destination = parameters.required('destinationRecordingName').replace(/\.[^./]*$/, '');
    if (recordings.stored.has(destination)) throw new AriError(409, 'A recording with the same name already exists on the system');
    const copy = source.copy(destination);
    recordings.stored.set(destination, copy);
    return { status: 200, body: copy.toJson() };
  });

  router.add('GET', '/recordings/live/{recordingName}', (params) => {
    const recording = params.recordingName === undefined ? undefined : recordings.live.get(params.recordingName);
    if (!recording) throw new AriError(404, 'Recording not found');
    return { status: 200, body: recording.toJson() };
  });
  const operate = (name: string | undefined, operation: RecordingOperation) => {
    const { result, finishLater } = recordings.operate(name ?? '', operation);
    if (result === 'not-found') throw new AriError(404, 'Recording not found');
    if (result === 'not-recording') throw new AriError(409, 'Recording not in session');
    return { status: 204, afterResponse: finishLater };
  };
  router.add('DELETE', '/recordings/live/{recordingName}', (params) => operate(params.recordingName, 'cancel'));
  router.add('POST', '/recordings/live/{recordingName}/stop', (params) => operate(params.recordingName, 'stop'));
  router.add('POST', '/recordings/live/{recordingName}/pause', (params) => operate(params.recordingName, 'pause'));
  router.add('DELETE', '/recordings/live/{recordingName}/pause', (params) => operate(params.recordingName, 'unpause'));
  router.add('POST', '/recordings/live/{recordingName}/mute', (params) => operate(params.recordingName, 'mute'));
  router.add('DELETE', '/recordings/live/{recordingName}/mute', (params) => operate(params.recordingName, 'unmute'));
}

/**
 * find_control: 404 for an unknown channel (a hung-up snoop that is still listed included: only
 * its snapshot is left), 409 for one that exists outside Stasis.
 */
function stasisChannel(context: SimulatorContext, id: string | undefined): Channel {
  const channel = id === undefined ? undefined : context.asterisk.channels.get(id);
  if (!channel) throw new AriError(404, 'Channel not found');
  if (!channel.inStasis) throw new AriError(409, 'Channel not in Stasis application');
  return channel;
}

/** atoi()-like, as ARI reads integer parameters: anything unparsable is 0. */
function integer(parameters: Parameters, name: string): number {
  const parsed = Number.parseInt(parameters.string(name) ?? '', 10);
  return Number.isNaN(parsed) ? 0 : parsed;
}

function parseTerminateOn(value: string | undefined): string {
  const lowered = (value ?? '').toLowerCase();
  if (lowered === '' || lowered === 'none') return '';
  if (lowered === 'any') return '#*0123456789abcd';
  if (lowered === '#' || lowered === '*') return lowered;
  throw new AriError(400, 'terminateOn invalid');
}

function parseIfExists(value: string | undefined): IfExists {
  const lowered = (value ?? '').toLowerCase();
  if (lowered === '') return 'fail';
  if (lowered === 'fail' || lowered === 'overwrite' || lowered === 'append') return lowered;
  throw new AriError(400, 'ifExists invalid');
}
