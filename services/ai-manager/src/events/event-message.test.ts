import { describe, expect, it } from 'vitest';
import { eventMessageText, webhookOrderingKey } from './event-message.ts';

const aicallId = 'AAAAAAAA-1111-4111-8111-111111111111';

describe('event messages', () => {
  it('orders an AIcall\'s status changes and its messages as one resource, other resources on their own', () => {
    expect(webhookOrderingKey('aicall_status_terminated', { id: aicallId })).toBe(`aicall:${aicallId.toLowerCase()}`);
    expect(webhookOrderingKey('aimessage_created', { id: 'm-1', aicall_id: aicallId })).toBe(`aicall:${aicallId.toLowerCase()}`);
    expect(webhookOrderingKey('ai_updated', { id: 'a-1' })).toBe('ai:a-1');
    expect(webhookOrderingKey('summary_created', { id: 's-1', aicall_id: '' })).toBe('summary:s-1');
    expect(webhookOrderingKey('ai_updated', null)).toBe('');
  });

  it('writes the id and number before the type and data, and leaves out a missing number', () => {
    expect(eventMessageText({ id: 'e-1', seq: 7, type: 'ai_created', data: { id: 'a-1' } })).toBe('{"id":"e-1","seq":7,"type":"ai_created","data":{"id":"a-1"}}');
    expect(eventMessageText({ id: 'e-2', type: 'aimessage_intermediate', data: {} })).toBe('{"id":"e-2","type":"aimessage_intermediate","data":{}}');
  });
});
