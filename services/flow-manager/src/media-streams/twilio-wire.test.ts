import { describe, expect, it } from 'vitest';
import { parseTwilioEngineMessage, TwilioEncoder } from './twilio-wire.ts';

const identity = { streamSid: 'MZ0123', callSid: 'CA0456', accountSid: 'AC0789', customParameters: { caller: 'ada' } };

describe('the Twilio Media Streams wire format', () => {
  it('writes connected without a sequence number, then numbers every later message from 1', () => {
    const encoder = new TwilioEncoder(identity);
    expect(JSON.parse(encoder.connected())).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(JSON.parse(encoder.start())).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: 'MZ0123',
      start: {
        streamSid: 'MZ0123',
        accountSid: 'AC0789',
        callSid: 'CA0456',
        tracks: ['inbound'],
        customParameters: { caller: 'ada' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    const first = JSON.parse(encoder.media(Uint8Array.from([0xff, 0x7f, 0x00]), 0)) as Record<string, unknown>;
    expect(first).toEqual({ event: 'media', sequenceNumber: '2', streamSid: 'MZ0123', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '/38A' } });
    expect(JSON.parse(encoder.media(new Uint8Array(160), 20))).toMatchObject({ sequenceNumber: '3', media: { chunk: '2', timestamp: '20' } });
    expect(JSON.parse(encoder.dtmf('5'))).toEqual({ event: 'dtmf', sequenceNumber: '4', streamSid: 'MZ0123', dtmf: { track: 'inbound_track', digit: '5' } });
    expect(JSON.parse(encoder.mark('end-of-greeting'))).toEqual({ event: 'mark', sequenceNumber: '5', streamSid: 'MZ0123', mark: { name: 'end-of-greeting' } });
    expect(JSON.parse(encoder.stop())).toEqual({ event: 'stop', sequenceNumber: '6', streamSid: 'MZ0123', stop: { accountSid: 'AC0789', callSid: 'CA0456' } });
  });

  it('reads media (base64 u-law), mark and clear from the engine', () => {
    const payload = Buffer.from([1, 2, 3, 255]);
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'media', streamSid: 'MZ0123', media: { payload: payload.toString('base64') } }), 'MZ0123')).toEqual({ kind: 'media', payload });
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'mark', streamSid: 'MZ0123', mark: { name: 'm1' } }), 'MZ0123')).toEqual({ kind: 'mark', name: 'm1' });
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'clear', streamSid: 'MZ0123' }), 'MZ0123')).toEqual({ kind: 'clear' });
  });

  it('refuses what Twilio refuses: not JSON, other events, missing fields, another stream', () => {
    expect(parseTwilioEngineMessage('hello', 'MZ0123')).toMatchObject({ kind: 'invalid', reason: 'not JSON' });
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'start', streamSid: 'MZ0123' }), 'MZ0123')).toMatchObject({ kind: 'invalid' });
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'media', streamSid: 'MZ0123' }), 'MZ0123')).toMatchObject({ kind: 'invalid' });
    expect(parseTwilioEngineMessage(JSON.stringify({ event: 'clear', streamSid: 'MZ9999' }), 'MZ0123')).toEqual({ kind: 'invalid', reason: 'wrong streamSid MZ9999' });
  });
});
