import { describe, expect, it } from 'vitest';
import { parseLineWebhook, parseTwilioMessage } from './inbound-parsers.ts';

describe('parseTwilioMessage', () => {
  it('takes From, To, Body and MessageSid and ignores the rest', () => {
    expect(parseTwilioMessage({ From: '+15550001', To: '+15550002', Body: 'hi', MessageSid: 'SM1', NumMedia: '0', AccountSid: 'AC1' })).toEqual({
      providerMessageId: 'SM1',
      self: '+15550002',
      peer: '+15550001',
      text: 'hi',
    });
  });

  it('refuses a body without the message fields with a 400', () => {
    expect(() => parseTwilioMessage({ From: '+15550001', To: '+15550002', Body: 'hi' })).toThrow(expect.objectContaining({ reason: 'VALIDATION_FAILED' }));
    expect(() => parseTwilioMessage({})).toThrow(expect.objectContaining({ httpStatus: 400 }));
  });
});

describe('parseLineWebhook', () => {
  const text = (overrides: Record<string, unknown> = {}) => ({
    type: 'message',
    mode: 'active',
    replyToken: 'r1',
    source: { type: 'user', userId: 'U1' },
    message: { type: 'text', id: 'm1', text: 'hello' },
    ...overrides,
  });
  const body = (events: unknown[]) => JSON.stringify({ destination: 'Ubot', events });

  it("takes text messages with the peer of each source type and the reply token", () => {
    const content = parseLineWebhook(
      body([
        text(),
        text({ source: { type: 'group', groupId: 'C1', userId: 'U2' }, message: { type: 'text', id: 'm2', text: 'g' } }),
        text({ source: { type: 'room', roomId: 'R1' }, message: { type: 'text', id: 'm3', text: 'r' }, replyToken: undefined }),
      ]),
    );
    expect(content.texts).toEqual([
      { providerMessageId: 'm1', self: 'Ubot', peer: 'U1', text: 'hello', replyToken: 'r1' },
      { providerMessageId: 'm2', self: 'Ubot', peer: 'C1', text: 'g', replyToken: 'r1' },
      { providerMessageId: 'm3', self: 'Ubot', peer: 'R1', text: 'r' },
    ]);
    expect(content.ignored).toEqual([]);
  });

  it('ignores other events, other message types and standby events', () => {
    const content = parseLineWebhook(body([{ type: 'follow', source: { type: 'user', userId: 'U1' } }, text({ message: { type: 'image', id: 'i1' } }), text({ mode: 'standby' })]));
    expect(content.texts).toEqual([]);
    expect(content.ignored).toEqual([{ type: 'follow' }, { type: 'message', messageType: 'image', mode: 'active' }, { type: 'message', messageType: 'text', mode: 'standby' }]);
    expect(parseLineWebhook(body([]))).toEqual({ texts: [], ignored: [] });
  });

  it('refuses what is not a LINE webhook body with a 400', () => {
    for (const raw of ['{', '[]', JSON.stringify({ events: [] }), body([text({ source: { type: 'user' } })]), body([text({ message: { type: 'text', text: 'no id' } })])]) {
      expect(() => parseLineWebhook(raw), raw).toThrow(expect.objectContaining({ httpStatus: 400 }));
    }
  });
});
