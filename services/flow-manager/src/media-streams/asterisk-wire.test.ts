import { describe, expect, it } from 'vitest';
import { completionText, dtmfEndText, mediaStartText, parseAsteriskCommand, statusText } from './asterisk-wire.ts';

describe("Asterisk's chan_websocket wire format, as the platform speaks it to an engine", () => {
  it('writes the events in plain text as chan_websocket does', () => {
    expect(mediaStartText({ connectionId: 'c1', channel: 'WebSocket/call-1', channelId: 'call-1', format: 'slin16', optimalFrameSize: 640 })).toBe(
      'MEDIA_START connection_id:c1 channel:WebSocket/call-1 channel_id:call-1 format:slin16 optimal_frame_size:640 ptime:20',
    );
    expect(dtmfEndText('#', 'call-1')).toBe('DTMF_END digit:# channel_id:call-1');
    expect(completionText('MEDIA_MARK_PROCESSED', 'm1')).toBe('MEDIA_MARK_PROCESSED m1');
    expect(completionText('MEDIA_BUFFERING_COMPLETED', undefined)).toBe('MEDIA_BUFFERING_COMPLETED');
    expect(statusText({ channelId: 'c', queueLength: 3, xonLevel: 800, xoffLevel: 900, queueFull: false, bulkMedia: false, paused: true })).toBe(
      'STATUS channel_id:c queue_length:3 xon_level:800 xoff_level:900 queue_full:false bulk_media:false media_paused:true',
    );
  });

  it('reads commands with and without an argument, in plain text and JSON', () => {
    expect(parseAsteriskCommand('FLUSH_MEDIA')).toEqual({ command: 'FLUSH_MEDIA', argument: undefined });
    expect(parseAsteriskCommand('MARK_MEDIA greeting-end\n')).toEqual({ command: 'MARK_MEDIA', argument: 'greeting-end' });
    expect(parseAsteriskCommand('STOP_MEDIA_BUFFERING b7')).toEqual({ command: 'STOP_MEDIA_BUFFERING', argument: 'b7' });
    expect(parseAsteriskCommand('{"command":"MARK_MEDIA","correlation_id":"m2"}')).toEqual({ command: 'MARK_MEDIA', argument: 'm2' });
    expect(parseAsteriskCommand('{"command":"HANGUP"}')).toEqual({ command: 'HANGUP', argument: undefined });
  });

  it('answers an unknown command or broken JSON as invalid', () => {
    expect(parseAsteriskCommand('DANCE now')).toEqual({ command: 'invalid', text: 'DANCE now' });
    expect(parseAsteriskCommand('{"command":')).toEqual({ command: 'invalid', text: '{"command":' });
  });
});
