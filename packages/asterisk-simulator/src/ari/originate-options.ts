import type { SimulatorContext } from '../simulator-context.ts';
import { AriError, type Parameters } from './router.ts';

/**
 * Format names Asterisk 23 registers at start (main/codec_builtin.c), the names `formats`
 * may list on originate. The simulator's called party is a scripted phone, so the formats
 * chosen do not change its media; only the names are checked, as Asterisk does.
 */
const ASTERISK_FORMAT_NAMES = new Set([
  'codec2', 'g723', 'ulaw', 'alaw', 'gsm', 'g726', 'g726aal2', 'adpcm',
  'slin', 'slin12', 'slin16', 'slin24', 'slin32', 'slin44', 'slin48', 'slin96', 'slin192',
  'lpc10', 'g729', 'speex', 'speex16', 'speex32', 'ilbc', 'g722', 'siren7', 'siren14', 'g719', 'opus',
  'jpeg', 'png', 'h261', 'h263', 'h263p', 'h264', 'h265', 'mpeg4', 'vp8', 'vp9', 'red', 't140', 't38', 'none',
  'silk8', 'silk12', 'silk16', 'silk24',
]);

/**
 * `originator` and `formats` of POST /channels and /channels/create, checked the way
 * res/ari/resource_channels.c checks them. On a real Asterisk the new channel takes the
 * originator's formats and linkedid; neither shows in the simulator's channel JSON.
 */
export function checkOriginatorAndFormats(context: SimulatorContext, parameters: Parameters): void {
  const originator = parameters.string('originator') ?? '';
  const formats = parameters.string('formats') ?? '';
  if (originator !== '' && formats !== '') throw new AriError(400, "Originator and formats can't both be specified");
  if (originator !== '') {
    const known = [...context.asterisk.channels.values()].some((channel) => channel.id === originator || channel.name === originator);
    if (!known) throw new AriError(400, 'Provided originator channel was not found');
  }
  if (formats !== '') {
    for (const name of formats.split(',').map((format) => format.trim())) {
      if (!ASTERISK_FORMAT_NAMES.has(name)) throw new AriError(400, `Provided format (${name}) was not found`);
    }
  }
}
