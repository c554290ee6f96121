import { describe, expect, it } from 'vitest';
import { formatMediaCommand, parseMediaControlMessage } from './websocket-control.ts';

describe('WebSocket media control messages', () => {
  it('parses the plain-text form', () => {
    expect(parseMediaControlMessage('MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x1 format:ulaw optimal_frame_size:160 ptime:20')).toEqual({
      event: 'MEDIA_START',
      fields: { connection_id: 'abc', channel: 'WebSocket/INCOMING/0x1', format: 'ulaw', optimal_frame_size: '160', ptime: '20' },
      json: false,
    });
    expect(parseMediaControlMessage('MEDIA_XOFF')).toEqual({ event: 'MEDIA_XOFF', fields: {}, json: false });
  });

  it('parses the JSON form', () => {
    expect(parseMediaControlMessage('{"event":"DTMF_END","digit":"5"}')).toEqual({ event: 'DTMF_END', fields: { event: 'DTMF_END', digit: '5' }, json: true });
  });

  it('rejects what is neither', () => {
    expect(parseMediaControlMessage('{broken')).toBeUndefined();
    expect(parseMediaControlMessage('[1,2]')).toBeUndefined();
    expect(parseMediaControlMessage('key:value')).toBeUndefined();
    expect(parseMediaControlMessage('   ')).toBeUndefined();
  });

  it('formats commands in the channel format', () => {
    expect(formatMediaCommand('FLUSH_MEDIA', false)).toBe('FLUSH_MEDIA');
    expect(formatMediaCommand('MARK_MEDIA', false, { correlation_id: 'x' })).toBe('MARK_MEDIA correlation_id:x');
    expect(JSON.parse(formatMediaCommand('MARK_MEDIA', true, { correlation_id: 'x' }))).toEqual({ command: 'MARK_MEDIA', correlation_id: 'x' });
  });
});
